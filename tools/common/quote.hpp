// File names in messages, quoted as GNU coreutils quote them, so a name with
// a newline or a control byte never splits or garbles an error line, and a
// message can be pasted back into a shell.
#pragma once

#include <string>
#include <string_view>

namespace tools {

// coreutils' quoteaf (shell-escape-always): always quoted. 'plain', "it's"
// (double quotes when an apostrophe is the only trouble), 'a'$'\n''b' for
// control bytes, bytes that are not valid in the locale's encoding, and
// characters it cannot print. `tail: cannot open 'x' for reading`.
std::string quote(std::string_view name);

// coreutils' quotef (shell-escape, ':' included): the name as it is when
// the shell would read it back unchanged, else quote(name). `cat: x: ...`,
// `cat: 'a b': ...`.
std::string quote_if_needed(std::string_view name);

} // namespace tools

namespace tools {

// coreutils' quote() (locale style), for values in messages such as tail's
// `invalid number of lines: 'x'`: ‘x’ in a UTF-8 locale, 'x' otherwise,
// with C escapes (\n, \\, \303) for what cannot be printed as it is.
std::string quote_value(std::string_view value);

} // namespace tools
