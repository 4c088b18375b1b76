// acp's command line as GNU cp's getopt_long reads it. (Quoting of names:
// tests/test_acat_quote.cpp, for tools/common.)
#include "options.hpp"
#include "quote.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {
struct Parsed {
  acp::ParseOutcome outcome;
  acp::Options opts;
  std::string error;
};
Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "acp");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  Parsed p;
  p.outcome = acp::parse(static_cast<int>(args.size()), argv.data(), p.opts, p.error);
  return p;
}
} // namespace

TEST_CASE("-a means recursive, no dereference and every attribute kept") {
  auto p = parse({"-a", "x", "y"});
  REQUIRE(p.outcome == acp::ParseOutcome::Run);
  CHECK(p.opts.recursive);
  CHECK_FALSE(p.opts.follows(true));
  CHECK(p.opts.preserve.mode);
  CHECK(p.opts.preserve.ownership);
  CHECK(p.opts.preserve.timestamps);
  CHECK(p.opts.preserve.links);
  CHECK(p.opts.preserve.xattr);
  CHECK(p.opts.operands == std::vector<std::string>{"x", "y"});
}

TEST_CASE("a plain copy follows symlinks, -r does not, -H only on the command line") {
  CHECK(parse({"x", "y"}).opts.follows(false));
  CHECK_FALSE(parse({"-r", "x", "y"}).opts.follows(true));
  auto h = parse({"-rH", "x", "y"}).opts;
  CHECK(h.follows(true));
  CHECK_FALSE(h.follows(false));
  CHECK(parse({"-rL", "x", "y"}).opts.follows(false));
}

TEST_CASE("long options may be abbreviated and operands permuted, -- ends options") {
  auto p = parse({"x", "--pres=mode,xattr", "--no-clob", "y"});
  REQUIRE(p.outcome == acp::ParseOutcome::Run);
  CHECK(p.opts.preserve.mode);
  CHECK(p.opts.preserve.xattr);
  CHECK_FALSE(p.opts.preserve.ownership);
  CHECK(p.opts.no_clobber);
  CHECK(p.opts.operands == std::vector<std::string>{"x", "y"});
  auto d = parse({"--", "-r", "y"});
  CHECK_FALSE(d.opts.recursive);
  CHECK(d.opts.operands == std::vector<std::string>{"-r", "y"});
}

TEST_CASE("the last of -n and -i wins, and --reflink alone means always") {
  auto a = parse({"-n", "-i", "x", "y"}).opts;
  CHECK(a.interactive);
  CHECK_FALSE(a.no_clobber);
  auto b = parse({"-i", "-n", "x", "y"}).opts;
  CHECK(b.no_clobber);
  CHECK_FALSE(b.interactive);
  CHECK(parse({"--reflink", "x", "y"}).opts.reflink == acp::Reflink::Always);
  CHECK(parse({"--reflink=nev", "x", "y"}).opts.reflink == acp::Reflink::Never);
  CHECK(parse({"--sparse=never", "x", "y"}).opts.sparse == acp::Sparse::Never);
}

TEST_CASE("usage errors name what is wrong, as cp's messages do") {
  auto none = parse({});
  CHECK(none.outcome == acp::ParseOutcome::UsageError);
  CHECK(none.error == "missing file operand");
  auto one = parse({"x"});
  CHECK(one.error == "missing destination file operand after 'x'");
  auto bad = parse({"--preserve=colour", "x", "y"});
  CHECK(bad.outcome == acp::ParseOutcome::UsageError);
  // In the locale's quotes, as cp's argmatch: 'x' or ‘x’.
  auto q = [](const char* v) { return tools::quote_value(v); };
  CHECK(bad.error.rfind("invalid argument " + q("colour") + " for " + q("--preserve") +
                            "\nValid arguments are:\n  - " + q("mode") + "\n",
                        0) == 0);
  CHECK(parse({"--sparse=a", "x", "y"})
            .error.rfind("ambiguous argument " + q("a") + " for " + q("--sparse"), 0) == 0);
  auto both = parse({"-t", "d", "-T", "x"});
  CHECK(both.outcome == acp::ParseOutcome::Error);                 // cp's die(): no "Try" line
  CHECK(parse({"-t", "d", "-T"}).error == "missing file operand"); // checked first, as cp
  CHECK(parse({"--reflink=always", "--sparse=never", "x", "y"}).error ==
        "--reflink can be used only with --sparse=auto");
  CHECK(parse({"-Z", "x", "y"}).outcome == acp::ParseOutcome::Run);
  CHECK(parse({"-t", "d", "-t", "e", "x"}).error == "multiple target directories specified");
  CHECK(parse({"--context=c", "x", "y"}).opts.warnings.size() == 1);
  CHECK(parse({"--sparse=maybe", "x", "y"}).outcome == acp::ParseOutcome::UsageError);
  CHECK(parse({"-T", "a", "b", "c"}).error == "extra operand 'c'");
  CHECK(parse({"--atomic-tree", "a", "b"}).outcome == acp::ParseOutcome::UsageError);
}

TEST_CASE("-t takes one operand; --help and --version stop the parse") {
  auto t = parse({"-t", "dir", "x"});
  REQUIRE(t.outcome == acp::ParseOutcome::Run);
  CHECK(*t.opts.target_dir == "dir");
  CHECK(parse({"--help"}).outcome == acp::ParseOutcome::Help);
  CHECK(parse({"--vers"}).outcome == acp::ParseOutcome::Version);
}

TEST_CASE("--help reports the io-wq worker cap and the files in flight, as the man page") {
  std::string help = acp::help_text();
  CHECK(help.find("capped at " + std::to_string(acp::kIowqWorkers) + " per") != std::string::npos);
  CHECK(help.find(std::to_string(acp::kFilesInFlight) + " files in flight") != std::string::npos);
}
