// SHA-256 through OpenSSL's EVP interface (libcrypto).
#include <msa/media/digest.hpp>

#include <msa/error.hpp>

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace msa::media {

namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext start_sha256() {
    DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
        throw Error("cannot start a SHA-256 digest in OpenSSL (EVP_DigestInit_ex); is libcrypto usable?");
    return context;
}

std::string finish_hex(EVP_MD_CTX* context) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context, digest, &length) != 1)
        throw Error("SHA-256 failed in OpenSSL (EVP_DigestFinal_ex)");
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

} // namespace

std::string sha256_hex(std::string_view bytes) {
    const DigestContext context = start_sha256();
    if (EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) != 1)
        throw Error("SHA-256 failed in OpenSSL (EVP_DigestUpdate)");
    return finish_hex(context.get());
}

std::string sha256_hex_of_files(const std::vector<std::filesystem::path>& files) {
    const DigestContext context = start_sha256();
    std::vector<char> buffer(1 << 20); // 1 MiB reads keep the page cache streaming
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw Error(file.string() + ": cannot open to compute its digest: " + std::strerror(errno));
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            if (in.gcount() > 0 &&
                EVP_DigestUpdate(context.get(), buffer.data(), static_cast<std::size_t>(in.gcount())) != 1)
                throw Error("SHA-256 failed in OpenSSL (EVP_DigestUpdate) on " + file.string());
        }
        if (in.bad()) throw Error(file.string() + ": read error while computing its digest");
    }
    return finish_hex(context.get());
}

} // namespace msa::media
