// The feature store: keys, round trips in float32 and float16, incremental appends,
// read order, errors, verify on damaged groups, prune, and crashes at every write of an
// append (forked children that SIGKILL themselves).
#include "test_helpers.hpp"

#include "store/encoder_key.hpp"
#include "store/feature_store.hpp"
#include "store/rollback_journal.hpp"

#include <msa/encoder.hpp>
#include <msa/media/digest.hpp>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace msa;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const EncoderMeta kMeta{"test-encoder", "1", "dim=8", R"({"dim":8})"};
const std::string kKey = encoder_key(kMeta);

// A batch with values that depend on the id, so any row can be checked alone.
struct Batch {
    std::vector<std::string> ids;
    std::int64_t dim = 0, length = 0, token_dim = 0;
    std::vector<float> pooled, tokens, mask;

    FeatureView view() const {
        FeatureView v;
        v.rows = std::int64_t(ids.size());
        v.dim = dim;
        v.pooled = pooled.data();
        if (length > 0) {
            v.length = length;
            v.token_dim = token_dim;
            v.tokens = tokens.data();
            v.mask = mask.data();
        }
        return v;
    }
};

float value(const std::string& id, std::size_t index) {
    std::size_t h = std::hash<std::string>{}(id) + index * 7919;
    return float(h % 2001) / 1000.0f - 1.0f + 0.0001234f;
}

std::vector<std::string> make_ids(const std::string& prefix, int first, int count) {
    std::vector<std::string> ids;
    for (int i = first; i < first + count; ++i) ids.push_back(prefix + std::to_string(i));
    return ids;
}

Batch make_batch(std::vector<std::string> ids, std::int64_t dim, std::int64_t length = 0, std::int64_t token_dim = 0) {
    Batch b{std::move(ids), dim, length, token_dim, {}, {}, {}};
    for (const auto& id : b.ids) {
        for (std::int64_t j = 0; j < dim; ++j) b.pooled.push_back(value(id, std::size_t(j)));
        for (std::int64_t j = 0; j < length * token_dim; ++j) b.tokens.push_back(value(id, 1000 + std::size_t(j)));
        for (std::int64_t t = 0; t < length; ++t) b.mask.push_back(t + 1 < length || id.size() % 2 ? 1.0f : 0.0f);
    }
    return b;
}

// Checks rows of `got` against the batch values of `ids`, within `tolerance` (relative).
void check_rows(const FeatureArrays& got, const std::vector<std::string>& ids, double tolerance = 0) {
    REQUIRE(got.rows == std::int64_t(ids.size()));
    for (std::size_t r = 0; r < ids.size(); ++r)
        for (std::int64_t j = 0; j < got.dim; ++j) {
            const float want = value(ids[r], std::size_t(j));
            const float have = got.pooled[r * std::size_t(got.dim) + std::size_t(j)];
            if (std::abs(have - want) > tolerance * std::abs(want)) {
                INFO("id " << ids[r] << " column " << j);
                REQUIRE(have == Approx(want));
            }
        }
}

// Raw HDF5 access for damaging a store on purpose.
struct RawFile {
    hid_t id;
    explicit RawFile(const fs::path& file) : id(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) { REQUIRE(id >= 0); }
    ~RawFile() { H5Fclose(id); }
};

// Runs `child` in a forked process; returns its wait status.
template <class F> int in_child(F child) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        try {
            child();
        } catch (...) {
            ::_exit(3);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

} // namespace

TEST_CASE("encoder_key is the hex SHA-256 of plugin, version and cache_key, NUL-separated", "[store]") {
    // python3: hashlib.sha256(b'hashed-ngram\0' b'1\0' b'dim=8\0').hexdigest()
    CHECK(encoder_key("hashed-ngram", "1", "dim=8") == "426f7aaafce71fcc238a24e5e2ea44f71c6577b8fc7b027f3d8eff199dc9a775");
    CHECK(encoder_key("ab", "c", "d") != encoder_key("a", "bc", "d"));
    CHECK(encoder_key("p", "1", "x") != encoder_key("p", "2", "x"));
    CHECK(encoder_key(kMeta) == encoder_key(kMeta.plugin, kMeta.version, kMeta.cache_key));
}

TEST_CASE("default_store_path lives in the XDG cache, named after the canonical dataset root", "[store]") {
    test::TempDir dir;
    fs::create_directories(dir.path() / "mvsa" / "data");
    DatasetConfig dataset;
    dataset.root = dir.path() / "mvsa" / "data" / ".."; // spelled differently, same folder
    const char* old_xdg = std::getenv("XDG_CACHE_HOME");
    const std::string saved = old_xdg ? old_xdg : "";
    ::setenv("XDG_CACHE_HOME", (dir.path() / "cache").c_str(), 1);
    const fs::path path = default_store_path(dataset);
    const std::string canonical = fs::canonical(dir.path() / "mvsa").string();
    CHECK(path == dir.path() / "cache" / "msa-workbench" / "features" /
                      ("mvsa-" + media::sha256_hex(canonical).substr(0, 12) + ".h5"));
    ::setenv("XDG_CACHE_HOME", "", 1); // empty: falls back to $HOME/.cache
    CHECK(default_store_path(dataset).string().rfind(std::string(std::getenv("HOME")) + "/.cache/msa-workbench/", 0) == 0);
    if (old_xdg)
        ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
    else
        ::unsetenv("XDG_CACHE_HOME");

    Study study;
    study.dataset = dataset;
    study.store.path = dir.path() / "mine.h5";
    CHECK(store_path(study) == dir.path() / "mine.h5");
}

TEST_CASE("float32 features come back exactly, tokens and mask included", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "sub" / "store.h5");
    CHECK(store.list().empty());
    const auto batch = make_batch(make_ids("a", 0, 10), 8, 4, 3);
    CHECK(store.append(kKey, kMeta, batch.ids, batch.view()) == 10);
    REQUIRE(fs::exists(store.file()));
    CHECK_FALSE(fs::exists(rollback_journal::journal_path(store.file())));

    const auto got = store.read_arrays(kKey, batch.ids);
    CHECK(got.pooled == batch.pooled);
    CHECK(got.length == 4);
    CHECK(got.token_dim == 3);
    CHECK(got.tokens == batch.tokens);
    CHECK(got.mask == batch.mask);

    const auto groups = store.list();
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].key == kKey);
    CHECK(groups[0].meta.plugin == "test-encoder");
    CHECK(groups[0].meta.version == "1");
    CHECK(groups[0].meta.cache_key == "dim=8");
    CHECK(groups[0].meta.params_json == R"({"dim":8})");
    CHECK(groups[0].dtype == "float32");
    CHECK(groups[0].count == 10);
    CHECK(groups[0].dim == 8);
    CHECK(groups[0].created.size() == 20);
    CHECK(groups[0].bytes > 0);
    CHECK(store.verify().ok());
}

TEST_CASE("float16 stores half the bytes as an h5py-compatible 2-byte float and reads back as float32", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "half.h5", {"float16", 0});
    const auto batch = make_batch(make_ids("h", 0, 50), 64, 3, 5);
    store.append(kKey, kMeta, batch.ids, batch.view());
    const auto got = store.read_arrays(kKey, batch.ids);
    check_rows(got, batch.ids, /*tolerance=*/1.0 / 1024);
    for (std::size_t i = 0; i < got.tokens.size(); ++i) REQUIRE(std::abs(got.tokens[i] - batch.tokens[i]) <= 1.0 / 1024);
    CHECK(store.list().at(0).dtype == "float16");

    const hid_t file = H5Fopen(store.file().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t pooled = H5Dopen2(file, (kKey + "/pooled").c_str(), H5P_DEFAULT);
    const hid_t type = H5Dget_type(pooled);
    CHECK(H5Tget_class(type) == H5T_FLOAT);
    CHECK(H5Tget_size(type) == 2);
    CHECK(H5Tget_ebias(type) == 15);
    H5Tclose(type);
    H5Dclose(pooled);
    H5Fclose(file);
    CHECK(store.verify().ok());
}

TEST_CASE("float16 rounds to nearest and keeps zero, subnormals and large values", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "half.h5", {"float16", 4});
    Batch b{{"x"}, 8, 0, 0, {0.0f, -0.0f, 1.0f, 1.0f + 1.0f / 4096, 65504.0f, 6e-8f, -3.14159f, 1e-3f}, {}, {}};
    store.append(kKey, kMeta, b.ids, b.view());
    const auto got = store.read_arrays(kKey, b.ids).pooled;
    CHECK(got[0] == 0.0f);
    CHECK(std::signbit(got[1]));
    CHECK(got[2] == 1.0f);
    CHECK(got[3] == 1.0f); // halfway below the next half: rounds to even
    CHECK(got[4] == 65504.0f);
    CHECK(got[5] == Approx(5.96e-8f).epsilon(0.01));
    CHECK(got[6] == Approx(-3.14159f).epsilon(1.0 / 1024));
    CHECK(got[7] == Approx(1e-3f).epsilon(1.0 / 1024));
}

TEST_CASE("missing() lists what to encode, and append skips ids already stored", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    CHECK(store.missing(kKey, {"a", "b", "a"}) == std::vector<std::string>{"a", "b"});
    CHECK(store.append(kKey, kMeta, {}, FeatureView{}) == 0);
    CHECK_FALSE(fs::exists(store.file()));
    const auto first = make_batch({"a", "b"}, 8);
    store.append(kKey, kMeta, first.ids, first.view());
    CHECK(store.missing(kKey, {"a", "b", "c", "d", "c"}) == std::vector<std::string>{"c", "d"});
    CHECK(store.missing(encoder_key("other", "1", ""), {"a"}) == std::vector<std::string>{"a"});

    const auto second = make_batch({"b", "c", "d"}, 8);
    CHECK(store.append(kKey, kMeta, second.ids, second.view()) == 2);
    CHECK(store.ids(kKey) == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(store.append(kKey, kMeta, second.ids, second.view()) == 0);
    CHECK(store.missing(kKey, {"a", "b", "c", "d"}).empty());
    CHECK(store.verify().ok());
}

TEST_CASE("read returns rows in the requested order, repeats included, across many chunks", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5", {"float32", 1});
    std::vector<std::string> all;
    for (int first = 0; first < 3000; first += 250) {
        const auto batch = make_batch(make_ids("s", first, 250), 96);
        store.append(kKey, kMeta, batch.ids, batch.view());
        all.insert(all.end(), batch.ids.begin(), batch.ids.end());
    }
    std::vector<std::string> wanted = {"s2999", "s0", "s1500", "s0", "s42"};
    check_rows(store.read_arrays(kKey, wanted), wanted);
    std::vector<std::string> reversed(all.rbegin(), all.rend());
    check_rows(store.read_arrays(kKey, reversed), reversed);
    check_rows(store.read_arrays(kKey, all), all);
    CHECK(store.read_arrays(kKey, {}).rows == 0);
}

TEST_CASE("reading an unknown id or key is an error naming it", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    CHECK_THROWS_WITH(store.read_arrays(kKey, {"a"}), Contains("no such file"));
    const auto batch = make_batch({"a", "b"}, 8);
    store.append(kKey, kMeta, batch.ids, batch.view());
    CHECK_THROWS_WITH(store.read_arrays(kKey, {"a", "zz9", "b"}),
                      Contains("store.h5") && Contains(kKey) && Contains("'zz9'") && Contains("missing()"));
    const std::string other = encoder_key("other", "1", "");
    CHECK_THROWS_WITH(store.read_arrays(other, {"a"}),
                      Contains(other) && Contains(kKey.substr(0, 12) + " (test-encoder 1)"));
}

TEST_CASE("two encoder keys live side by side in one file", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5", {"float16", 4});
    const EncoderMeta image{"test-image", "2", "size=4", "{}"};
    const auto text_batch = make_batch(make_ids("t", 0, 20), 8);
    const auto image_batch = make_batch(make_ids("t", 0, 20), 16, 6, 4);
    store.append(kKey, kMeta, text_batch.ids, text_batch.view());
    store.append(encoder_key(image), image, image_batch.ids, image_batch.view());
    const auto groups = store.list();
    REQUIRE(groups.size() == 2);
    for (const auto& g : groups) {
        CHECK(g.count == 20);
        CHECK(g.dim == (g.key == kKey ? 8 : 16));
        CHECK(g.length == (g.key == kKey ? 0 : 6));
    }
    check_rows(store.read_arrays(kKey, text_batch.ids), text_batch.ids, 1.0 / 1024);
    check_rows(store.read_arrays(encoder_key(image), image_batch.ids), image_batch.ids, 1.0 / 1024);
    CHECK(store.verify().ok());
}

TEST_CASE("token sequences of different lengths are padded to the longest, with mask 0", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    const auto shorter = make_batch({"a"}, 4, 2, 3);
    const auto longer = make_batch({"b"}, 4, 5, 3);
    store.append(kKey, kMeta, shorter.ids, shorter.view());
    store.append(kKey, kMeta, longer.ids, longer.view());
    const auto got = store.read_arrays(kKey, {"a", "b"});
    REQUIRE(got.length == 5);
    CHECK(std::vector<float>(got.tokens.begin(), got.tokens.begin() + 6) == shorter.tokens);
    CHECK(std::all_of(got.tokens.begin() + 6, got.tokens.begin() + 15, [](float x) { return x == 0; }));
    CHECK(std::vector<float>(got.mask.begin(), got.mask.begin() + 5) ==
          std::vector<float>{shorter.mask[0], shorter.mask[1], 0, 0, 0});
    CHECK(std::vector<float>(got.tokens.begin() + 15, got.tokens.end()) == longer.tokens);
    CHECK(store.verify().ok());
}

TEST_CASE("append refuses batches that do not fit, and stores nothing of them", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    const auto good = make_batch({"a", "b"}, 8);
    store.append(kKey, kMeta, good.ids, good.view());

    auto wide = make_batch({"c"}, 9);
    CHECK_THROWS_WITH(store.append(kKey, kMeta, wide.ids, wide.view()), Contains("8 wide") && Contains("9"));
    auto twice = make_batch({"c", "c"}, 8);
    CHECK_THROWS_WITH(store.append(kKey, kMeta, twice.ids, twice.view()), Contains("'c' appears twice"));
    auto bad = make_batch({"c", "d"}, 8);
    bad.pooled[9] = std::nanf("");
    CHECK_THROWS_WITH(store.append(kKey, kMeta, bad.ids, bad.view()), Contains("non-finite") && Contains("'d'"));
    CHECK_THROWS_WITH(store.append(kKey, kMeta, {"c"}, good.view()), Contains("2 feature rows for 1 ids"));
    CHECK_THROWS_WITH(store.append("not-a-key", kMeta, good.ids, good.view()), Contains("not an encoder key"));
    const EncoderMeta impostor{"someone-else", "1", "dim=8", "{}"};
    CHECK_THROWS_WITH(store.append(kKey, impostor, {"c"}, make_batch({"c"}, 8).view()),
                      Contains("plugin 'test-encoder' version 1"));
    auto tokens = make_batch({"c"}, 8, 2, 2);
    CHECK_THROWS_WITH(store.append(kKey, kMeta, tokens.ids, tokens.view()), Contains("no token features"));
    CHECK_THROWS_WITH(FeatureStore(dir.path() / "x.h5", {"bfloat16", 4}), Contains("accepted: float32, float16"));

    CHECK(store.ids(kKey) == good.ids);
    CHECK(store.verify().ok());
    CHECK_FALSE(fs::exists(rollback_journal::journal_path(store.file())));
}

TEST_CASE("the tensor adapter takes any floating tensors and gives float32 tensors", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    Features in;
    in.pooled = torch::arange(12, torch::kDouble).reshape({3, 4}) / 8;
    in.tokens = torch::arange(18, torch::kFloat).reshape({3, 2, 3});
    in.mask = torch::tensor({{1, 1}, {1, 0}, {0, 0}}, torch::kLong);
    store.append(kKey, kMeta, {"x", "y", "z"}, in);
    const Features out = store.read(kKey, {"z", "x"});
    CHECK(out.pooled.scalar_type() == torch::kFloat);
    CHECK(torch::equal(out.pooled, in.pooled.index({torch::tensor({2, 0})}).to(torch::kFloat)));
    CHECK(torch::equal(out.tokens, in.tokens.index({torch::tensor({2, 0})})));
    CHECK(torch::equal(out.mask, in.mask.index({torch::tensor({2, 0})}).to(torch::kFloat)));
    Features no_tokens;
    no_tokens.pooled = torch::ones({1, 4});
    const std::string other = encoder_key("other", "1", "");
    store.append(other, {"other", "1", "", "{}"}, {"x"}, no_tokens);
    CHECK_FALSE(store.read(other, {"x"}).tokens.defined());
}

TEST_CASE("verify reports an id without features, non-finite values and missing attributes", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    const auto batch = make_batch(make_ids("v", 0, 5), 8);
    store.append(kKey, kMeta, batch.ids, batch.view());
    const EncoderMeta second{"second", "1", "", "{}"};
    store.append(encoder_key(second), second, batch.ids, batch.view());
    REQUIRE(store.verify().ok());
    CHECK(store.verify().ids == 10);

    {
        // An extra id with no pooled row, written behind the store's back.
        RawFile raw(store.file());
        const hid_t ids = H5Dopen2(raw.id, (kKey + "/ids").c_str(), H5P_DEFAULT);
        const hsize_t size = 6, start = 5, count = 1;
        REQUIRE(H5Dset_extent(ids, &size) >= 0);
        const hid_t type = H5Dget_type(ids);
        const hid_t file_space = H5Dget_space(ids);
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
        const hid_t memory_space = H5Screate_simple(1, &count, nullptr);
        const char* id = "orphan";
        REQUIRE(H5Dwrite(ids, type, memory_space, file_space, H5P_DEFAULT, &id) >= 0);
        H5Sclose(memory_space);
        H5Sclose(file_space);
        H5Tclose(type);
        H5Dclose(ids);
        // A NaN in the second group, and its 'created' attribute gone.
        const std::string other = encoder_key(second);
        const hid_t pooled = H5Dopen2(raw.id, (other + "/pooled").c_str(), H5P_DEFAULT);
        std::vector<float> values(40, 0.5f);
        values[17] = std::nanf("");
        REQUIRE(H5Dwrite(pooled, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
        H5Dclose(pooled);
        const hid_t group = H5Gopen2(raw.id, other.c_str(), H5P_DEFAULT);
        REQUIRE(H5Adelete(group, "created") >= 0);
        H5Gclose(group);
    }
    const auto report = store.verify();
    CHECK_FALSE(report.ok());
    CHECK(report.groups == 2);
    std::string all;
    for (const auto& p : report.problems) all += p.key.substr(0, 12) + ": " + p.message + "\n";
    INFO(all);
    CHECK_THAT(all, Contains(kKey.substr(0, 12) + ": counts disagree: 'ids' has 6 rows, 'pooled' 5"));
    CHECK_THAT(all, Contains("non-finite values in 'pooled' for id 'v2'"));
    CHECK_THAT(all, Contains("attribute 'created' is missing"));
    // The damaged group still lists; the damage stops reads of that group.
    CHECK(store.list().size() == 2);
    CHECK_THROWS_WITH(store.read_arrays(kKey, {"v0"}), Contains("counts disagree"));
}

TEST_CASE("verify and list refuse files that are not feature stores", "[store]") {
    test::TempDir dir;
    const fs::path plain = dir.path() / "plain.h5";
    H5Fclose(H5Fcreate(plain.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    FeatureStore store(plain);
    CHECK_THROWS_WITH(store.list(), Contains("not a feature store"));
    CHECK_FALSE(store.verify().ok());
    const fs::path text = dir.write("text.h5", "not hdf5 at all");
    CHECK_THAT(FeatureStore(text).verify().problems.at(0).message, Contains("cannot open as HDF5"));
    CHECK_THAT(FeatureStore(dir.path() / "none.h5").verify().problems.at(0).message, Contains("no such file"));
}

TEST_CASE("prune removes groups and shrinks the file", "[store]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5", {"float32", 0});
    const EncoderMeta big{"big", "1", "", "{}"};
    const auto small_batch = make_batch(make_ids("p", 0, 10), 8);
    store.append(kKey, kMeta, small_batch.ids, small_batch.view());
    for (int first = 0; first < 1000; first += 100) {
        const auto batch = make_batch(make_ids("p", first, 100), 256);
        store.append(encoder_key(big), big, batch.ids, batch.view());
    }
    const auto before = fs::file_size(store.file());
    CHECK(store.prune([](const GroupInfo&) { return false; }).removed.empty());
    CHECK(fs::file_size(store.file()) == before);

    const auto report = store.prune([](const GroupInfo& g) { return g.meta.plugin == "big"; });
    REQUIRE(report.removed.size() == 1);
    CHECK(report.removed[0].count == 1000);
    CHECK(report.bytes_before == before);
    CHECK(report.bytes_after == fs::file_size(store.file()));
    CHECK(report.bytes_after < before / 5);
    const auto groups = store.list();
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].key == kKey);
    CHECK(groups[0].meta.params_json == kMeta.params_json);
    check_rows(store.read_arrays(kKey, small_batch.ids), small_batch.ids);
    CHECK(store.verify().ok());
    CHECK_FALSE(fs::exists(store.file().string() + ".repacking"));
}

TEST_CASE("an append killed at any of its writes leaves the store as it was before", "[store][crash]") {
    test::TempDir dir;
    const fs::path file = dir.path() / "store.h5";
    const auto committed = make_batch(make_ids("c", 0, 100), 32, 4, 8);
    {
        FeatureStore store(file, {"float16", 4});
        store.append(kKey, kMeta, committed.ids, committed.view());
    }
    // Each round kills the child at one more write (journal or store, torn in half),
    // until the append gets through; the store must then hold exactly the old rows.
    int kills = 0;
    for (long write = 1; write < 500; ++write) {
        const int status = in_child([&] {
            FeatureStore store(file, {"float16", 4});
            const auto growing = make_batch(make_ids("c", 100, 7), 32, 6, 8); // also lengthens the tokens
            rollback_journal::arm_crash_for_testing(write);
            store.append(kKey, kMeta, growing.ids, growing.view());
            const EncoderMeta other{"other", "1", "", "{}"}; // and creates a group
            store.append(encoder_key(other), other, growing.ids, growing.view());
        });
        FeatureStore store(file);
        if (WIFEXITED(status)) {
            CHECK(WEXITSTATUS(status) == 0);
            CHECK(store.ids(kKey).size() == 107);
            break;
        }
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);
        ++kills;
        const auto report = store.verify(); // rolls the journal back first
        INFO("killed at write " << write << ": " << (report.ok() ? "" : report.problems[0].message));
        REQUIRE(report.ok());
        CHECK_FALSE(fs::exists(rollback_journal::journal_path(file)));
        const auto ids = store.ids(kKey);
        // The first append may have committed before a later write was torn.
        REQUIRE((ids.size() == 100 || ids.size() == 107));
        const auto got = store.read_arrays(kKey, committed.ids);
        check_rows(got, committed.ids, 1.0 / 1024);
        if (ids.size() == 100) CHECK(got.length == 4);
        // Rolled back, the store takes the next append as if nothing happened.
    }
    CHECK(kills > 10);
    FeatureStore store(file);
    CHECK(store.verify().ok());
    CHECK(store.list().size() == 2);
}

TEST_CASE("a journal with a torn header is dropped without touching the store", "[store][crash]") {
    test::TempDir dir;
    FeatureStore store(dir.path() / "store.h5");
    const auto batch = make_batch({"a"}, 8);
    store.append(kKey, kMeta, batch.ids, batch.view());
    const auto size = fs::file_size(store.file());
    std::ofstream(rollback_journal::journal_path(store.file())) << "MSAJ";
    CHECK(store.ids(kKey) == batch.ids);
    CHECK_FALSE(fs::exists(rollback_journal::journal_path(store.file())));
    CHECK(fs::file_size(store.file()) == size);
}
