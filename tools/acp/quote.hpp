// Names in messages quoted as GNU coreutils quote them (shell-escape style):
// 'plain', "it's", and 'a'$'\n''b' for control and non-UTF-8 bytes, so a
// newline in a name never splits an error line.
#pragma once

#include <string>
#include <string_view>

namespace acp {

std::string quote(std::string_view name);

} // namespace acp
