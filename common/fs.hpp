// Small file helpers whose errors name the path and the errno text.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsa::fs {

std::string read_file(const std::string& path);
// std::nullopt when the file does not exist; other errors throw.
std::optional<std::string> read_file_if_exists(const std::string& path);

// Writes to an existing file (cgroup, /proc, /sys knobs): no create, no truncate games.
void write_existing(const std::string& path, std::string_view data);

// Writes a file so that after a crash or power loss it holds either the old or the new
// content: write to a temporary in the same directory, fsync, rename, fsync the directory.
// durable=false skips the fsyncs: readers never see a partial file, but a power loss may
// lose the write (for state that does not outlive a reboot, such as /run).
void write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                       bool durable = true);

// mkdir -p; existing directories are fine.
void mkdir_p(const std::string& path, mode_t mode = 0755);

// rm -rf without following symlinks; a missing path is fine.
void remove_all(const std::string& path);

bool exists(const std::string& path);
bool is_dir(const std::string& path);

// Names in a directory, without "." and "..". Missing directory: empty list.
std::vector<std::string> list_dir(const std::string& path);

// fsync of a directory, so that a rename or create inside it is durable.
void fsync_dir(const std::string& path);

std::string dirname(const std::string& path);
std::string basename(const std::string& path);
std::string join(const std::string& a, const std::string& b);

}  // namespace ecsa::fs
