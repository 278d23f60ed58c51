// SPDX-License-Identifier: Apache-2.0
// Base64 as etcd's gateway carries keys and values.
#include "cluster/etcd/base64.hpp"

#include <gtest/gtest.h>

using troupe::cluster::etcd::base64_decode;
using troupe::cluster::etcd::base64_encode;

TEST(EtcdBase64, EncodesTheRfcVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(EtcdBase64, DecodesWhatItEncodesWhateverTheBytes) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    auto x = all.substr(0, n);
    auto back = base64_decode(base64_encode(x));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, x);
  }
}

TEST(EtcdBase64, RefusesWhatIsNotPaddedBase64) {
  EXPECT_FALSE(base64_decode("Zm9"));      // length
  EXPECT_FALSE(base64_decode("Zm9v!A==")); // character
  EXPECT_FALSE(base64_decode("Zh=="));     // bits under the padding
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("=m9v"));
}
