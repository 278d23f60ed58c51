// SPDX-License-Identifier: Apache-2.0
// What wakes a node's run() (node.cpp): a semaphore, since the signal
// handler may post one (async-signal-safe) but may not touch a condition
// variable.
#pragma once

#include <semaphore.h>

namespace troupe::detail {

struct run_waker {
  run_waker() {
    sem_init(&sem, 0, 0);
  }
  ~run_waker() {
    sem_destroy(&sem);
  }
  run_waker(const run_waker&) = delete;
  run_waker& operator=(const run_waker&) = delete;

  void wake() noexcept {
    sem_post(&sem);
  }

  sem_t sem;
};

} // namespace troupe::detail
