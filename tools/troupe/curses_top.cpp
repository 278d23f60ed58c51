// SPDX-License-Identifier: Apache-2.0
// The curses loop of `troupe top`: a thread fetches a snapshot every second,
// the main thread draws the lines that `render_top` makes of it and reads
// keys. Nothing here decides what is shown: see troupe/tool/top.hpp.
#include "curses_top.hpp"

#include "troupe/tool/error.hpp"
#include "troupe/tool/top.hpp"

#include <curses.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <clocale>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace troupe::tool {

namespace {

using namespace std::chrono_literals;

// The signals that end the view.
constexpr int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

// Blocks the stop signals for as long as it lives, in the calling thread
// and in the threads it starts meanwhile (the fetcher, its client nodes'),
// so that they stay pending until `take_stop_signal` reads them. Handlers
// would not do: every client node installs its own for SIGINT and SIGTERM
// when it starts (once a second here).
class signal_block {
public:
  signal_block() {
    sigemptyset(&set_);
    for (auto sig : stop_signals)
      sigaddset(&set_, sig);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }

  ~signal_block() {
    // Drops those that came after the last look (the view has ended
    // anyway): unblocked, they would meet the last client node's handler.
    while (take_stop_signal() != 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

  signal_block(const signal_block&) = delete;
  signal_block& operator=(const signal_block&) = delete;

  /// A stop signal that arrived (and is now consumed), or 0.
  int take_stop_signal() {
    timespec now{0, 0};
    auto sig = sigtimedwait(&set_, nullptr, &now);
    return sig > 0 ? sig : 0;
  }

private:
  sigset_t set_;
  sigset_t old_;
};

// Curses on the terminal for as long as it lives: the destructor restores
// the terminal, whatever ends the view.
class screen {
public:
  screen()
      : term_(newterm(nullptr, stdout, stdin)) {
    if (term_ == nullptr)
      return;
    cbreak(); // keys at once; Ctrl-C still raises SIGINT
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    timeout(100); // getch waits at most this long (ms)
  }

  ~screen() {
    close();
  }

  screen(const screen&) = delete;
  screen& operator=(const screen&) = delete;

  explicit operator bool() const noexcept {
    return term_ != nullptr;
  }

  void close() {
    if (term_ == nullptr)
      return;
    endwin();
    delscreen(term_);
    term_ = nullptr;
  }

private:
  SCREEN* term_;
};

// What the fetching thread hands to the screen.
struct shared {
  std::mutex mtx;
  std::condition_variable cv;
  bool stop = false;      // the view ends: fetch no more
  bool done = false;      // the fetching thread is about to return
  uint64_t refreshes = 0; // answers and failures so far
  std::optional<wire::ClusterSnapshot> snap; // the last answer
  std::string error; // why the last refresh failed, or ""
};

// Fetches a snapshot until `st.stop`, a second after each answer: the node
// computes message rates between its own snapshots when they are at least
// a second apart. Each fetch is bounded by the client's timeout.
void fetch_loop(shared& st, endpoint ep, client_options opts) {
  std::unique_lock<std::mutex> guard{st.mtx};
  while (!st.stop) {
    guard.unlock();
    std::optional<wire::ClusterSnapshot> snap;
    std::string error;
    try { // an exception here would end the process with the screen on
      auto x = fetch_snapshot(ep, opts);
      if (x)
        snap = std::move(*x);
      else
        error = describe(x.error());
    } catch (const std::exception& e) {
      error = std::string{"the client failed: "} + e.what();
    }
    guard.lock();
    if (snap)
      st.snap = std::move(snap);
    st.error = std::move(error);
    ++st.refreshes;
    st.cv.wait_for(guard, 1s, [&] {
      return st.stop;
    });
  }
  st.done = true;
  st.cv.notify_all();
}

// Draws the header (bold), the column titles (a reverse bar), as many rows
// as fit and the status line at the bottom.
void draw(const top_screen& view, const std::string& status, bool failed) {
  int height = 0;
  int width = 0;
  getmaxyx(stdscr, height, width);
  erase();
  auto put = [&](int y, const std::string& text, chtype attr, int room) {
    if (y < 0 || y >= height || room <= 0)
      return;
    attrset(attr);
    mvaddnstr(y, 0, text.c_str(), room);
    attrset(A_NORMAL);
  };
  put(0, view.header, A_BOLD, width);
  auto bar = view.columns;
  bar.resize(std::max(bar.size(), static_cast<size_t>(width)), ' ');
  if (!view.columns.empty())
    put(1, bar, A_REVERSE, width);
  auto last = height - 1; // the status line's
  for (size_t i = 0; i < view.rows.size() && 2 + static_cast<int>(i) < last;
       ++i)
    put(2 + static_cast<int>(i), view.rows[i], A_NORMAL, width);
  // Not the bottom-right cell: writing there would scroll the screen.
  put(last, status, failed ? A_BOLD : A_NORMAL, width - 1);
  refresh();
}

} // namespace

int run_top(const endpoint& ep, const client_options& opts) {
  if (::isatty(STDIN_FILENO) == 0 || ::isatty(STDOUT_FILENO) == 0) {
    std::cerr << "troupe: top needs a terminal (for scripts: troupe tree "
                 "--json)\n";
    return static_cast<int>(tool_errc::usage);
  }
  std::setlocale(LC_CTYPE, ""); // UTF-8 names, if the terminal has them
  auto quiet = opts;
  quiet.log = log_level::off; // its lines would draw over the screen
  signal_block signals;
  screen scr;
  if (!scr) {
    auto* term = std::getenv("TERM");
    std::cerr << "troupe: cannot draw on terminal type '"
              << (term != nullptr ? term : "") << "'\n";
    return static_cast<int>(tool_errc::failed);
  }
  shared st;
  std::thread fetcher{[&st, ep, quiet] {
    fetch_loop(st, ep, quiet);
  }};
  auto sort = top_sort::mailbox;
  std::optional<wire::ClusterSnapshot> snap;
  std::string error;
  uint64_t seen = 0;
  auto dirty = true;
  auto quit = false;
  auto stopped_by = 0; // the signal that ended the view
  while (!quit && (stopped_by = signals.take_stop_signal()) == 0) {
    {
      std::lock_guard<std::mutex> guard{st.mtx};
      if (st.refreshes != seen) {
        seen = st.refreshes;
        snap = st.snap;
        error = st.error;
        dirty = true;
      }
    }
    if (dirty) {
      top_screen view;
      if (snap)
        view = render_top(*snap, sort);
      else
        view.header = "troupe top: asking " + ep.host + ":" +
                      std::to_string(ep.port) +
                      " ...  sort: " + to_string(sort);
      draw(view, top_status(error), !error.empty());
      dirty = false;
    }
    auto key = getch(); // a key, or ERR after the timeout
    if (key == KEY_RESIZE)
      dirty = true;
    switch (top_key(key)) {
    case top_action::sort_by_mailbox:
      dirty = dirty || sort != top_sort::mailbox;
      sort = top_sort::mailbox;
      break;
    case top_action::sort_by_rate:
      dirty = dirty || sort != top_sort::rate;
      sort = top_sort::rate;
      break;
    case top_action::quit:
      quit = true;
      break;
    case top_action::none:
      break;
    }
  }
  scr.close();
  int code = stopped_by != 0 ? 128 + stopped_by : 0;
  std::unique_lock<std::mutex> guard{st.mtx};
  st.stop = true;
  st.cv.notify_all();
  // The fetcher is asleep between refreshes, or in a fetch bounded by the
  // timeout. Waiting for one would keep the prompt away after `q`: the
  // terminal is back already, so the process ends without it.
  if (!st.cv.wait_for(guard, 1s, [&] {
        return st.done;
      })) {
    std::fflush(nullptr);
    std::_Exit(code);
  }
  guard.unlock();
  fetcher.join();
  return code;
}

} // namespace troupe::tool
