// SPDX-License-Identifier: Apache-2.0
// The text wordcount counts: files, or a generated corpus of a given size,
// and its cutting into chunks for the mappers.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace wordcount {

inline std::string read_corpus(std::vector<std::string> files,
                               size_t generate) {
  std::string text;
  if (generate > 0) { // words of a fixed vocabulary, Zipf-like, seeded
    std::vector<std::string> vocab;
    std::mt19937_64 rng{42};
    for (int i = 0; i < 5000; ++i) {
      std::string w;
      for (size_t k = 0, len = 2 + rng() % 9; k < len; ++k)
        w += static_cast<char>('a' + rng() % 26);
      vocab.push_back(w);
    }
    std::discrete_distribution<size_t> pick{
        vocab.size(), 0.0, static_cast<double>(vocab.size()), [](double x) {
          return 1.0 / (x + 1);
        }};
    while (text.size() < generate)
      text += vocab[pick(rng)] + (rng() % 12 == 0 ? ".\n" : " ");
    std::cout << "corpus: generated, " << text.size() << " bytes" << std::endl;
    return text;
  }
  if (files.empty()) // each file once (GPL is a link to GPL-3)
    for (auto& e :
         std::filesystem::directory_iterator{"/usr/share/common-licenses"})
      if (e.is_regular_file() && !e.is_symlink())
        files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    std::ifstream in{f, std::ios::binary};
    if (!in)
      throw std::runtime_error("cannot read " + f);
    std::ostringstream buf;
    buf << in.rdbuf();
    text += buf.str() + "\n";
  }
  std::cout << "corpus: " << files.size() << " files, " << text.size()
            << " bytes" << std::endl;
  return text;
}

// Chunks of about 16 KiB, cut after a line end (never inside a word).
inline std::vector<std::string> chunks(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    auto end = text.find('\n', std::min(pos + 16384, text.size()));
    end = end == text.npos ? text.size() : end + 1;
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

} // namespace wordcount
