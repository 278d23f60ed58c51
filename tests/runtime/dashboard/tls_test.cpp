// SPDX-License-Identifier: Apache-2.0
// The dashboard of a node that runs TLS: HTTPS with the node's own
// certificate (a development CA from tools/tls/make-dev-ca), plain HTTP to
// that port closed, and the node serving on after it.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "http_client.hpp"
#include "troupe/error.hpp"
#include "troupe/node/node.hpp"

using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

// A development CA with a certificate for "n1" (and 127.0.0.1), and
// another CA, removed at the end.
struct dev_ca {
  std::filesystem::path dir;
  dev_ca() {
    dir = std::filesystem::temp_directory_path() /
          ("troupe-dash-tls-" + std::to_string(::getpid()));
    auto script = std::string{TROUPE_SOURCE_DIR} + "/tools/tls/make-dev-ca";
    if (std::system((script + " " + (dir / "cluster").string() +
                     " n1 >/dev/null && " + script + " " +
                     (dir / "other").string() + " x >/dev/null")
                        .c_str()) != 0)
      throw std::runtime_error("make-dev-ca failed");
  }
  ~dev_ca() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string file(const std::string& ca, const std::string& name) const {
    return (dir / ca / name).string();
  }
};

// GET `target` over HTTPS, trusting `ca_file`: the raw response, or
// "error: ..." when the connection or the handshake fails. The server
// closes after answering (Connection: close), which ends the read.
std::string https_get(uint16_t port, const std::string& ca_file,
                      const std::string& target) {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  ctx.load_verify_file(ca_file);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<asio::ip::tcp::socket> s{io, ctx};
  s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  boost::system::error_code ec;
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (!ec)
    s.handshake(ssl::stream_base::client, ec);
  if (ec)
    return "error: " + ec.message();
  std::string req = "GET " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Connection: close\r\n\r\n";
  asio::write(s, asio::buffer(req), ec);
  if (ec)
    return "error: " + ec.message();
  std::string out;
  // To the server's close: bounded by its write timeout and the ctest
  // TIMEOUT.
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

} // namespace

TEST(DashboardTls, ServesHttpsWithTheNodesCertificateAndClosesPlainHttp) {
  dev_ca ca;
  troupe::node_config cfg;
  cfg.name = "n1";
  cfg.log = troupe::log_level::error;
  cfg.handle_signals = false;
  cfg.tls_ca = ca.file("cluster", "ca.pem");
  cfg.tls_cert = ca.file("cluster", "n1.pem");
  cfg.tls_key = ca.file("cluster", "n1.key");
  cfg.http_port = 0;
  troupe::node n{cfg};
  auto err = n.start();
  ASSERT_FALSE(err) << troupe::describe(err);
  auto port = n.http_port();
  ASSERT_NE(port, 0);

  auto ok = https_get(port, cfg.tls_ca, "/healthz");
  auto res = troupe::test::parse_response(ok);
  EXPECT_EQ(res.status, 200) << ok;
  EXPECT_EQ(res.body, "ok\n");

  // A client that trusts another CA refuses the node's certificate.
  auto refused = https_get(port, ca.file("other", "ca.pem"), "/healthz");
  EXPECT_EQ(refused.rfind("error: ", 0), 0u) << refused;

  // Plain HTTP to the HTTPS port: no HTTP answer, the connection closed.
  troupe::test::http_client plain{port};
  ASSERT_TRUE(plain.connected());
  plain.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(plain.wait_closed(5s));
  EXPECT_EQ(plain.received().rfind("HTTP/", 0), std::string::npos)
      << plain.received();

  // And it serves on: HTTPS again, the page and the API too.
  auto again = troupe::test::parse_response(https_get(port, cfg.tls_ca, "/"));
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("app.js"), std::string::npos);
  auto api =
      troupe::test::parse_response(https_get(port, cfg.tls_ca, "/api/cluster"));
  EXPECT_EQ(api.status, 200);
  EXPECT_NE(api.body.find("\"n1\""), std::string::npos);
}

// A plain cluster keeps plain HTTP.
TEST(DashboardTls, APlainClusterServesPlainHttp) {
  troupe::node_config cfg;
  cfg.name = "plain";
  cfg.log = troupe::log_level::error;
  cfg.handle_signals = false;
  cfg.http_port = 0;
  troupe::node n{cfg};
  ASSERT_FALSE(n.start());
  auto res = troupe::test::request(n.http_port(), "GET", "/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "ok\n");
}
