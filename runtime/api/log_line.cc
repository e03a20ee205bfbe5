#include "runtime/api/log_line.h"

namespace flint::runtime {

void TruncateLogLine(std::string* text) {
  if (text->size() <= kMaxLogLineBytes) return;
  size_t cut = kMaxLogLineBytes;
  // Back up to the start of a UTF-8 character.
  while (cut > 0 && (static_cast<unsigned char>((*text)[cut]) & 0xC0) == 0x80) --cut;
  size_t dropped = text->size() - cut;
  text->resize(cut);
  text->append("... [" + std::to_string(dropped) + " more bytes truncated]");
}

}  // namespace flint::runtime
