// SPDX-License-Identifier: Apache-2.0
// troupe's supervisor: what its crash reports say, and that a crash loop
// writes a bounded log (fixture: supervisor_fixture.hpp).
#include "runtime/supervision/supervisor_fixture.hpp"

#include <algorithm>

#include "supervision/crash_report.hpp"
#include "troupe/log.hpp"

using namespace troupe::test::sup;

namespace {

// Collects troupe's log lines that contain `needle` while it lives.
struct log_capture {
  std::shared_ptr<std::vector<std::string>> lines
    = std::make_shared<std::vector<std::string>>();
  explicit log_capture(std::string needle) {
    troupe::supervision::reset_crash_report_budget();
    troupe::set_log_observer([xs = lines, needle](troupe::log_level,
                                                  std::string_view line) {
      if (line.find(needle) != std::string_view::npos)
        xs->emplace_back(line);
    });
  }
  ~log_capture() {
    troupe::set_log_observer({});
  }
};

} // namespace

TEST_F(Supervisor, CrashReportsSayWhatFailedAndWhatTheSupervisorDid) {
  log_capture cap{"crash report"};
  troupe::supervisor_flags flags;
  flags.path = "/app";
  flags.max_restarts = 5;
  auto sup = troupe::spawn_supervisor(
    *ctx.sys, flags,
    {worker_spec("a", log),
     worker_spec("t", log, troupe::restart_type::temporary)});
  ctx.run();
  auto kids = children(sup);
  EXPECT_FALSE(ask<int>(kids[0].handle, 100));
  EXPECT_FALSE(ask<int>(kids[1].handle, 200));
  caf::anon_send_exit(kids[0].handle, caf::exit_reason::kill);
  ctx.run();
  ASSERT_EQ(cap.lines->size(), 3u);
  auto& thrown = (*cap.lines)[0];
  for (auto part : {"/app/a", "worker", "failed: handler_failed: bad value 100",
                    "supervisor /app: restart in place (1 of at most 5"})
    EXPECT_NE(thrown.find(part), std::string::npos) << part << " in " << thrown;
  EXPECT_NE((*cap.lines)[1].find("/app/t"), std::string::npos);
  EXPECT_NE((*cap.lines)[1].find("not restarted (temporary child)"),
            std::string::npos)
    << (*cap.lines)[1];
  EXPECT_NE((*cap.lines)[2].find("exited: kill; supervisor /app: respawn from "
                                 "its spec"),
            std::string::npos)
    << (*cap.lines)[2];
  stop(sup);
}

TEST_F(Supervisor, ACrashLoopOfTenThousandFailuresWritesABoundedLog) {
  log_capture cap{"crash report"};
  auto t0 = std::chrono::steady_clock::now();
  auto sup = start(troupe::strategy::one_for_one, {"a"}, 1000000);
  auto a = children(sup)[0].handle;
  for (int i = 1; i <= 10000; ++i)
    caf::anon_send(a, 100 * i);
  ctx.run();
  auto kids = children(sup);
  ASSERT_EQ(kids[0].restarts, 10000u);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  // 20 at once, then one per 100 ms of real time.
  auto bound = 20u + static_cast<size_t>(elapsed / 100ms) + 1u;
  EXPECT_LE(cap.lines->size(), bound);
  EXPECT_GE(cap.lines->size(), 20u);
  if (cap.lines->size() > 20u) {
    EXPECT_NE(cap.lines->back().find("dropped before this one"),
              std::string::npos)
      << cap.lines->back();
  }
  stop(sup);
}
