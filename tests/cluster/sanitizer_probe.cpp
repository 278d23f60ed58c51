// SPDX-License-Identifier: Apache-2.0
// A program that does one thing a sanitizer reports, named by argv[1]:
// "race" (TSan), "use-after-free" (ASan), "overflow" (UBSan). It proves in
// sanitizer builds that a report in a child process fails the test that
// started it (child_process_test.cpp); elsewhere it runs without a report.
#include <climits>
#include <cstdio>
#include <string>
#include <thread>

namespace {

// Two threads write it without synchronisation.
int shared_counter = 0;

int race() {
  std::thread other{[] { ++shared_counter; }};
  ++shared_counter;
  other.join();
  return shared_counter > 0 ? 0 : 1;
}

// volatile: keeps the compiler from folding the bug away at -O2.
int use_after_free() {
  auto* p = new int{7};
  delete p;
  volatile int x = *p;
  return x == 7 ? 0 : 1;
}

int overflow() {
  volatile int x = INT_MAX;
  volatile int y = x + 1;
  return y < 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "";
  int rc = 2;
  if (what == "race")
    rc = race();
  else if (what == "use-after-free")
    rc = use_after_free();
  else if (what == "overflow")
    rc = overflow();
  else
    std::fprintf(stderr, "usage: %s race|use-after-free|overflow\n", argv[0]);
  std::printf("probe %s returned %d\n", what.c_str(), rc);
  return rc;
}
