// Writers of a Report: the table for people (stdout), the JSON for scripts
// (schema "aiobench/2", documented in man/aiobench.1, JSON Schema in
// aiobench.schema.json), and the verdicts that
// say in words what the figures mean.
#pragma once

#include "figures.hpp"
#include "options.hpp"

#include <cstdio>
#include <string>

namespace aiobench {

void add_verdicts(Report& r, const Options& opt);
void print_table(std::FILE* out, const Report& r, const Options& opt);
std::string to_json(const Report& r, const Options& opt);
// Writes `text` to `path` ("-": stdout); gives an error sentence or "".
std::string write_file(const std::string& path, const std::string& text);

} // namespace aiobench
