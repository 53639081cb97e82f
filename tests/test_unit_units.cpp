#include "util/quote.hpp"
#include "util/rng.hpp"
#include "util/units.hpp"
#include "util/utf8.hpp"

#include <functional>
#include <gtest/gtest.h>
#include <set>

using namespace dmlsim;

TEST(Units, TimesInSimGridNotation) {
  EXPECT_DOUBLE_EQ(parse_time("50ms"), 0.05);
  EXPECT_DOUBLE_EQ(parse_time("20us"), 20e-6);
  EXPECT_DOUBLE_EQ(parse_time("72.5ms"), 0.0725);
  EXPECT_DOUBLE_EQ(parse_time("1h"), 3600.0);
  EXPECT_DOUBLE_EQ(parse_time("5m"), 300.0);
  EXPECT_DOUBLE_EQ(parse_time("1e3us"), 1e-3);
  EXPECT_THROW(parse_time("5 parsecs"), std::invalid_argument);
  EXPECT_THROW(parse_time("ms"), std::invalid_argument);
  EXPECT_THROW(parse_time(""), std::invalid_argument);
}

TEST(Units, BandwidthBitsAndBytes) {
  EXPECT_DOUBLE_EQ(parse_bandwidth("1Gbps"), 125e6);
  EXPECT_DOUBLE_EQ(parse_bandwidth("10Gbps"), 1.25e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth("125MBps"), 125e6);
  EXPECT_DOUBLE_EQ(parse_bandwidth("1MiBps"), 1048576.0);
  EXPECT_DOUBLE_EQ(parse_bandwidth("1000Bps"), 1000.0);
  EXPECT_THROW(parse_bandwidth("1Gbit"), std::invalid_argument);
}

TEST(Units, AUnitIsRequiredAndOnlyDecimalNumbersAreAccepted) {
  const auto message = [](const std::function<void()>& parse) {
    try {
      parse();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { parse_time("50"); }), "'50' has no unit: a time needs one, e.g. 50ms");
  EXPECT_EQ(message([] { parse_bandwidth("50"); }), "'50' has no unit: a bandwidth needs one, e.g. 1Gbps or 125MBps");
  EXPECT_EQ(message([] { parse_speed("2e9"); }), "'2e9' has no unit: a speed needs one, e.g. 20Gf");
  EXPECT_EQ(message([] { parse_time("5min"); }), "unknown time unit 'min' in '5min' (known: ps, ns, us, ms, s, m, h, d, w)");
  EXPECT_EQ(message([] { parse_time("0x10s"); }), "'0x10s' is not a decimal number");
  EXPECT_EQ(message([] { parse_time("infs"); }), "'infs' is not finite");
  EXPECT_EQ(message([] { parse_time("1e400s"); }), "'1e400s' is not finite");
}

TEST(Units, NumbersIntegersBooleans) {
  EXPECT_DOUBLE_EQ(parse_number("0.1"), 0.1);
  EXPECT_THROW(parse_number("0.1x"), std::invalid_argument);
  EXPECT_THROW(parse_number("nan"), std::invalid_argument);
  EXPECT_EQ(parse_integer("300"), 300);
  EXPECT_THROW(parse_integer("-3"), std::invalid_argument);
  EXPECT_THROW(parse_integer("3.5"), std::invalid_argument);
  EXPECT_TRUE(parse_bool("true"));
  EXPECT_FALSE(parse_bool("no"));
  EXPECT_THROW(parse_bool("maybe"), std::invalid_argument);
  EXPECT_DOUBLE_EQ(parse_speed("20Gf"), 20e9);
}

TEST(Utf8, FindsTheFirstIllFormedByte) {
  EXPECT_FALSE(first_invalid_utf8("plain ascii"));
  EXPECT_FALSE(first_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_EQ(first_invalid_utf8("caf\xe9!"), 3u);                                   // Latin-1 é
  EXPECT_EQ(first_invalid_utf8("ab\xc0\xaf"), 2u);                                // overlong '/'
  EXPECT_EQ(first_invalid_utf8("\xed\xa0\x80"), 0u);                             // surrogate
  EXPECT_EQ(first_invalid_utf8("x\xf4\x90\x80\x80"), 1u);                       // past U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xe2\x82"), 0u);                                  // cut short
}

// A message quoting input stays one line and sends no control sequence to the terminal.
TEST(Quote, ControlAndIllFormedBytesAreEscapedPrintableTextKept) {
  EXPECT_EQ(quote_input("node-1"), "'node-1'");
  EXPECT_EQ(quote_input("a\nb\rc\td"), "'a\\nb\\rc\\td'");
  EXPECT_EQ(printable("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("\xc2\x9b" "2J"), "\\u009b" "2J");  // C1 CSI
  EXPECT_EQ(printable("caf\xe9"), "caf\\xe9");       // Latin-1 byte
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("back\\slash 'quote'"), "back\\slash 'quote'");
}

// Bidi controls would show "w1 \u202e2w" as "w1 w2" reversed; zero-width and format characters
// would hide in a name; a line separator would split the message.
TEST(Quote, InvisibleFormatCharactersAreEscaped) {
  EXPECT_EQ(printable("w1\u202e2w"), "w1\\u202e2w");                  // right-to-left override
  EXPECT_EQ(printable("\u202a\u202b\u202c\u202d"), "\\u202a\\u202b\\u202c\\u202d");
  EXPECT_EQ(printable("a\u2066b\u2067c\u2068d\u2069"), "a\\u2066b\\u2067c\\u2068d\\u2069");  // isolates
  EXPECT_EQ(printable("w\u200b1\u200d\u200e\u200f"), "w\\u200b1\\u200d\\u200e\\u200f");
  EXPECT_EQ(printable("\ufeffhost\u00ad\u2060\u061c"), "\\ufeffhost\\u00ad\\u2060\\u061c");
  EXPECT_EQ(printable("one\u2028two\u2029"), "one\\u2028two\\u2029");
  EXPECT_EQ(printable("tag\U000E0041"), "tag\\ue0041");
  // Neighbours stay: en dash, ellipsis, the last code point before the isolates, right-to-left text.
  EXPECT_EQ(printable("a\u2013b\u2026c\u205fd \u05e9\u05dc\u05d5\u05dd"), "a\u2013b\u2026c\u205fd \u05e9\u05dc\u05d5\u05dd");
}

TEST(Rng, SameKeySameStreamDifferentKeysDiffer) {
  Rng a(derive_key(7, Stream::Batch, {1, 2, 3}));
  Rng b(derive_key(7, Stream::Batch, {1, 2, 3}));
  Rng c(derive_key(7, Stream::Batch, {1, 2, 4}));
  Rng d(derive_key(8, Stream::Batch, {1, 2, 3}));
  const auto first = a.next();
  EXPECT_EQ(first, b.next());
  EXPECT_NE(first, c.next());
  EXPECT_NE(first, d.next());
}

TEST(Rng, UniformIsInRangeAndCoversIt) {
  Rng rng(42);
  double lo = 1, hi = -1, sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform(-1.0, 1.0);
    ASSERT_GE(u, -1.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_LT(lo, -0.999);
  EXPECT_GT(hi, 0.999);
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(rng.below(10));
  EXPECT_EQ(seen.size(), 10u);
}
