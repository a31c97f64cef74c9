// libarchive, opened on the first call: only pulling, saving and checking images read or
// write tar streams, and linking it directly would make every `run` map it with its
// compression libraries. Defines each libarchive function ecsa uses as a forwarder
// (common/lazy_library.hpp).
#include <archive.h>
#include <archive_entry.h>

#include <cstdarg>
#include <cstdio>
#include <string>

#include "common/lazy_library.hpp"

namespace {

ecsa::LazyLibrary& libarchive() {
  static ecsa::LazyLibrary lib("libarchive.so.13", "to read and write image layers");
  return lib;
}

}  // namespace

// printf-style: a va_list cannot be passed on to a variadic function, so the message is
// formatted here and handed over as "%s".
extern "C" void archive_set_error(struct archive* a, int err, const char* fmt, ...) {
  static auto* const real = libarchive().function<decltype(archive_set_error)>("archive_set_error");
  if (!fmt) return real(a, err, nullptr);
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string msg(n > 0 ? size_t(n) : 0, '\0');
  if (n > 0) std::vsnprintf(msg.data(), msg.size() + 1, fmt, ap2);
  va_end(ap2);
  real(a, err, "%s", msg.c_str());
}

ECSA_LAZY_FORWARD(libarchive(), const char*, archive_version_string, (void), ())

ECSA_LAZY_FORWARD(libarchive(), time_t, archive_entry_atime, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), int, archive_entry_atime_is_set, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), long, archive_entry_atime_nsec, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), __LA_MODE_T, archive_entry_filetype, (struct archive_entry * e),
                  (e))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_free, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), const char*, archive_entry_hardlink, (struct archive_entry * e),
                  (e))
ECSA_LAZY_FORWARD(libarchive(), time_t, archive_entry_mtime, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), int, archive_entry_mtime_is_set, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), long, archive_entry_mtime_nsec, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), struct archive_entry*, archive_entry_new, (void), ())
ECSA_LAZY_FORWARD(libarchive(), const char*, archive_entry_pathname, (struct archive_entry * e),
                  (e))
ECSA_LAZY_FORWARD(libarchive(), __LA_MODE_T, archive_entry_perm, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), dev_t, archive_entry_rdevmajor, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), dev_t, archive_entry_rdevminor, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_filetype,
                  (struct archive_entry * e, unsigned int a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_gid,
                  (struct archive_entry * e, la_int64_t a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_hardlink,
                  (struct archive_entry * e, const char* a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_mtime,
                  (struct archive_entry * e, time_t a1, long a2), (e, a1, a2))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_pathname,
                  (struct archive_entry * e, const char* a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_perm,
                  (struct archive_entry * e, __LA_MODE_T a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_rdevmajor,
                  (struct archive_entry * e, dev_t a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_rdevminor,
                  (struct archive_entry * e, dev_t a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_size,
                  (struct archive_entry * e, la_int64_t a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_symlink,
                  (struct archive_entry * e, const char* a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_set_uid,
                  (struct archive_entry * e, la_int64_t a1), (e, a1))
ECSA_LAZY_FORWARD(libarchive(), la_int64_t, archive_entry_size, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), int, archive_entry_size_is_set, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), const char*, archive_entry_symlink, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), void, archive_entry_xattr_add_entry,
                  (struct archive_entry * e, const char* a1, const void* a2, size_t a3),
                  (e, a1, a2, a3))
ECSA_LAZY_FORWARD(libarchive(), int, archive_entry_xattr_next,
                  (struct archive_entry * e, const char** a1, const void** a2, size_t* a3),
                  (e, a1, a2, a3))
ECSA_LAZY_FORWARD(libarchive(), int, archive_entry_xattr_reset, (struct archive_entry * e), (e))
ECSA_LAZY_FORWARD(libarchive(), int, archive_errno, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), const char*, archive_error_string, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_append_filter, (struct archive * a, int a1),
                  (a, a1))
ECSA_LAZY_FORWARD(libarchive(), la_ssize_t, archive_read_data,
                  (struct archive * a, void* a1, size_t a2), (a, a1, a2))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_data_block,
                  (struct archive * a, const void** buff, size_t* size, la_int64_t* offset),
                  (a, buff, size, offset))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_free, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), struct archive*, archive_read_new, (void), ())
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_next_header,
                  (struct archive * a, struct archive_entry** a1), (a, a1))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_open,
                  (struct archive * a, void* _client_data, archive_open_callback* a2,
                   archive_read_callback* a3, archive_close_callback* a4),
                  (a, _client_data, a2, a3, a4))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_open_memory,
                  (struct archive * a, const void* buff, size_t size), (a, buff, size))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_open_filename,
                  (struct archive * a, const char* _filename, size_t _block_size),
                  (a, _filename, _block_size))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_support_filter_gzip, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_support_format_raw, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_read_support_format_tar, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_add_filter_gzip, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_add_filter_zstd, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_close, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), la_ssize_t, archive_write_data,
                  (struct archive * a, const void* a1, size_t a2), (a, a1, a2))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_free, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_header,
                  (struct archive * a, struct archive_entry* a1), (a, a1))
ECSA_LAZY_FORWARD(libarchive(), struct archive*, archive_write_new, (void), ())
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_open,
                  (struct archive * a, void* a1, archive_open_callback* a2,
                   archive_write_callback* a3, archive_close_callback* a4),
                  (a, a1, a2, a3, a4))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_set_bytes_in_last_block,
                  (struct archive * a, int bytes_in_last_block), (a, bytes_in_last_block))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_set_format_pax, (struct archive * a), (a))
ECSA_LAZY_FORWARD(libarchive(), int, archive_write_set_format_raw, (struct archive * a), (a))
