// --sizes as calibrate, simulate and sweep all take it.
#include <catch2/catch.hpp>

#include "models/profile.h"

using namespace ckptsim::models;

TEST_CASE("parse_sizes accepts ranges, steps and lists") {
  CHECK(parse_sizes("2100:2400") == std::vector<int>{2100, 2200, 2300, 2400});
  CHECK(parse_sizes("2100:4800:900") == std::vector<int>{2100, 3000, 3900, 4800});
  CHECK(parse_sizes("2100:2500:300") == std::vector<int>{2100, 2400});
  CHECK(parse_sizes("2100,2500,4100") == std::vector<int>{2100, 2500, 4100});
  CHECK(parse_sizes(" 4100 ") == std::vector<int>{4100});
  CHECK(parse_sizes("200:600", 200) == std::vector<int>{200, 400, 600});
  CHECK(parse_sizes("300:300") == std::vector<int>{300});
}

TEST_CASE("parse_sizes rejects bad specs with a message naming the problem") {
  auto message = [](const std::string& spec) {
    try {
      parse_sizes(spec);
    } catch (const ProfileError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message("4800:2100"), Catch::Contains("greater than"));
  CHECK_THAT(message("0:100"), Catch::Contains("positive"));
  CHECK_THAT(message("-5,100"), Catch::Contains("positive"));
  CHECK_THAT(message("abc"), Catch::Contains("not a whole number"));
  CHECK_THAT(message("2100:4800:x"), Catch::Contains("not a whole number"));
  CHECK_THAT(message("2100:4800:0"), Catch::Contains("positive"));
  CHECK_THAT(message("2100:4800:-100"), Catch::Contains("positive"));
  CHECK_THAT(message(""), Catch::Contains("empty"));
  CHECK_THAT(message("2100,,4100"), Catch::Contains("empty"));
  CHECK_THAT(message("1:2:3:4"), Catch::Contains("A:B"));
  CHECK_THAT(message("2100.5"), Catch::Contains("not a whole number"));
  for (auto spec : {"4800:2100", "0", "x", "", "1:2:0", "1:2:3:4", "1,2:3"})
    CHECK(message(spec).find('\n') == std::string::npos);
}
