// SPDX-License-Identifier: Apache-2.0
// Starting, probing and stopping a throwaway etcd.
#include "runtime/cluster/etcd/etcd_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>
#include "loopback.hpp"

namespace troupe::test {

namespace {

using clock_type = std::chrono::steady_clock;

// GET `path` from 127.0.0.1:`port`; the whole answer, or empty.
std::string http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return {};
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    auto req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

} // namespace

int free_port() {
  return free_loopback_port("etcd_server");
}

bool etcd_server::available() {
  return ::access(binary, X_OK) == 0;
}

etcd_server::etcd_server() {
  auto base = std::filesystem::temp_directory_path() / "troupe_etcd_XXXXXX";
  std::string tmpl = base.string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("etcd_server: mkdtemp failed");
  dir_ = tmpl;
  // Another process may take a port between our probe and etcd's bind.
  for (int attempt = 0; attempt < 5; ++attempt) {
    client_port_ = free_port();
    peer_port_ = free_port();
    if (peer_port_ == client_port_)
      continue;
    if (launch())
      return;
    std::filesystem::remove_all(dir_ + "/data");
  }
  auto log = log_tail();
  std::filesystem::remove_all(dir_);
  throw std::runtime_error("etcd did not start: " + log);
}

etcd_server::~etcd_server() {
  kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string etcd_server::endpoint() const {
  return "127.0.0.1:" + std::to_string(client_port_);
}

bool etcd_server::healthy() const {
  auto answer = http_get(client_port_, "/health");
  return answer.find("\"health\":\"true\"") != std::string::npos;
}

bool etcd_server::launch() {
  auto client_url = "http://127.0.0.1:" + std::to_string(client_port_);
  auto peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> args{binary,
                                "--data-dir",
                                dir_ + "/data",
                                "--listen-client-urls",
                                client_url,
                                "--advertise-client-urls",
                                client_url,
                                "--listen-peer-urls",
                                peer_url,
                                "--initial-advertise-peer-urls",
                                peer_url,
                                "--initial-cluster",
                                "default=" + peer_url};
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(x.data());
  argv.push_back(nullptr);
  auto log_path = dir_ + "/etcd.log";
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("etcd_server: fork failed");
  if (pid_ == 0) {
    // Dies with the test, even when the test is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(binary, argv.data());
    ::_exit(127);
  }
  auto deadline = clock_type::now() + std::chrono::seconds{20};
  while (clock_type::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (healthy())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  kill();
  return false;
}

void etcd_server::reap(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    auto rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_ || (rc < 0 && errno == ECHILD)) {
      pid_ = -1;
      return;
    }
    if (clock_type::now() >= deadline)
      throw std::runtime_error("etcd_server: etcd did not exit");
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

void etcd_server::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  reap(std::chrono::seconds{10});
}

void etcd_server::freeze() {
  if (pid_ > 0)
    ::kill(pid_, SIGSTOP);
}

void etcd_server::thaw() {
  if (pid_ > 0)
    ::kill(pid_, SIGCONT);
}

void etcd_server::restart() {
  kill();
  if (!launch())
    throw std::runtime_error("etcd did not restart: " + log_tail());
}

std::string etcd_server::log_tail() const {
  std::ifstream in{dir_ + "/etcd.log"};
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

} // namespace troupe::test
