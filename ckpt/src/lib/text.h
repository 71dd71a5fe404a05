// Async-signal-safe text building into a fixed buffer (no malloc, no stdio):
// decimal/hex numbers, strings, and the JSON pieces manifest.json needs.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace ckptlib {

inline size_t cstr_len(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

inline bool cstr_eq(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

inline bool starts_with(const char* s, size_t n, const char* prefix) {
  size_t i = 0;
  for (; prefix[i]; ++i)
    if (i >= n || s[i] != prefix[i]) return false;
  return true;
}

// Parses an unsigned number in `base` from s[*pos..n); advances *pos.
inline uint64_t parse_unsigned(const char* s, size_t n, size_t* pos, int base) {
  uint64_t v = 0;
  size_t i = *pos;
  for (; i < n; ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else break;
    v = v * base + d;
  }
  *pos = i;
  return v;
}

// A bounded text buffer. Appending past `cap` sets `overflow` (the caller
// reports it as a failed checkpoint) instead of writing out of bounds.
struct Text {
  char* data = nullptr;
  size_t len = 0;
  size_t cap = 0;
  bool overflow = false;

  void reset(char* buf, size_t capacity) {
    data = buf;
    cap = capacity;
    len = 0;
    overflow = false;
  }
  Text& ch(char c) {
    if (len + 1 >= cap) {
      overflow = true;
      return *this;
    }
    data[len++] = c;
    data[len] = 0;
    return *this;
  }
  Text& raw(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) ch(s[i]);
    return *this;
  }
  Text& str(const char* s) { return raw(s, cstr_len(s)); }
  Text& dec(uint64_t v) { return dec_width(v, 1); }
  Text& sdec(int64_t v) {
    if (v < 0) {
      ch('-');
      return dec(uint64_t(0) - uint64_t(v));
    }
    return dec(uint64_t(v));
  }
  // Zero-padded decimal of at least `width` digits (ckpt-0007).
  Text& dec_width(uint64_t v, int width) {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = char('0' + v % 10);
      v /= 10;
    } while (v);
    while (n < width) tmp[n++] = '0';
    while (n) ch(tmp[--n]);
    return *this;
  }
  // Exactly 16 lowercase hex digits: the checksum format of the manifest.
  Text& hex16(uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) ch(digits[(v >> shift) & 15]);
    return *this;
  }

  // JSON string literal; control characters are \u-escaped.
  Text& json_str(const char* s, size_t n) {
    static const char digits[] = "0123456789abcdef";
    ch('"');
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = (unsigned char)s[i];
      if (c == '"' || c == '\\') {
        ch('\\').ch(char(c));
      } else if (c == '\n') {
        str("\\n");
      } else if (c == '\t') {
        str("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        str("\\u00").ch(digits[c >> 4]).ch(digits[c & 15]);
      } else {
        ch(char(c));
      }
    }
    return ch('"');
  }
  Text& json_str(const char* s) { return json_str(s, cstr_len(s)); }
  Text& json_hash(uint64_t h) { return ch('"').hex16(h).ch('"'); }
  Text& json_bool(bool b) { return str(b ? "true" : "false"); }
  // `"key":` (callers add the comma).
  Text& key(const char* k) { return ch('"').str(k).str("\":"); }
};

}  // namespace ckptlib
