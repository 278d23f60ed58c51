// SPDX-License-Identifier: Apache-2.0
// A temporary directory that a test owns and removes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace troupe::test {

/// Makes a fresh directory under $TMPDIR (or /tmp); removes it with all it
/// holds when destroyed.
class temp_dir {
public:
  temp_dir() {
    auto base = std::filesystem::temp_directory_path() / "troupe-test-XXXXXX";
    std::string buf = base.string();
    if (mkdtemp(buf.data()) == nullptr)
      std::abort();
    path_ = buf;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }

  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

} // namespace troupe::test
