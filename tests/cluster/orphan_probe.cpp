// SPDX-License-Identifier: Apache-2.0
// A program that starts a child through child_process, prints the child's
// PID, and waits to be killed. Killed by a signal, it runs no destructor:
// ChildProcess.AChildDiesWithTheProcessThatStartedIt checks that its child
// does not outlive it.
#include <cstdio>

#include <unistd.h>

#include "child_process.hpp"

int main() {
  troupe::test::child_process child{{"/bin/sleep", "600"}};
  std::printf("CHILD pid=%d\n", static_cast<int>(child.pid()));
  std::fflush(stdout);
  for (;;)
    ::pause();
}
