// Error types shared by the host and plugins: every message says what, where and
// what would have been accepted.
#pragma once

#include <stdexcept>
#include <string>

namespace msa {

// Base of every error the workbench raises on purpose. Exported like every interface, so
// that a plugin's error is still an msa::Error when the host catches it.
class __attribute__((visibility("default"))) Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A configuration value that cannot be accepted. `where` is "file:line:column" when
// the value came from a manifest, empty otherwise.
class __attribute__((visibility("default"))) ConfigError : public Error {
public:
    ConfigError(std::string where, std::string message)
        : Error(where.empty() ? message : where + ": " + message), where_(std::move(where)),
          message_(std::move(message)) {}
    const std::string& where() const noexcept { return where_; }
    // The message without the location.
    const std::string& message() const noexcept { return message_; }

private:
    std::string where_;
    std::string message_;
};

} // namespace msa
