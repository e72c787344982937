// Dataset readers: the three formats, MVSA label merging, and the bad-input policy, one
// broken file per test; then the real mvsa-ecnu.
#include "data/dataset_reader.hpp"
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <sstream>

namespace msa::test {
// Defined in test_image_probe.cpp: a valid 16x8 JPEG, a valid 3x2 PNG, a GIF and a WebP header.
std::string tiny_jpeg();
std::string tiny_png();
std::string tiny_gif();
std::string tiny_webp();
} // namespace msa::test

namespace {

namespace fs = std::filesystem;
using msa::DatasetConfig;
using msa::data::Dataset;
using msa::data::DatasetError;
using msa::data::read_dataset;
using msa::test::TempDir;

// A guid-tag dataset in a temporary folder: train.txt, test_without_label.txt, data/.
struct GuidTagFiles {
    TempDir dir;
    std::string train = "guid,tag\n";
    std::string test = "guid,tag\n";

    void sample(const std::string& guid, const std::string& tag, const std::string& text = "a tweet\n",
                const std::string& image = msa::test::tiny_jpeg()) {
        (tag == "null" ? test : train) += guid + "," + tag + "\n";
        dir.write("data/" + guid + ".txt", text);
        dir.write("data/" + guid + ".jpg", image);
    }
    DatasetConfig config(const std::string& on_error = "fail") {
        dir.write("train.txt", train);
        dir.write("test_without_label.txt", test);
        DatasetConfig c;
        c.root = dir.path();
        c.on_error = on_error;
        return c;
    }
};

// The error read_dataset throws, or "(no error)".
std::string read_error(const DatasetConfig& config, std::ostream& log) {
    try {
        read_dataset(config, log);
    } catch (const msa::Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string read_error(const DatasetConfig& config) {
    std::ostringstream log;
    return read_error(config, log);
}

fs::path mvsa_ecnu_root() { return msa::test::mvsa_ecnu_dir(); }

} // namespace

TEST_CASE("guid-tag reader reads labels, absolute image paths and texts", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "first tweet \r\n");
    files.sample("2", "negative", "second\n\n");
    files.sample("3", "null", "unlabelled one");
    std::ostringstream log;
    const Dataset d = read_dataset(files.config(), log);
    REQUIRE(d.samples.size() == 3);
    CHECK(d.samples[0].id == "1");
    CHECK(d.samples[0].label == 2);
    CHECK(d.samples[0].text == "first tweet "); // only the trailing newline goes
    CHECK(d.samples[1].label == 0);
    CHECK(d.samples[1].text == "second\n");
    CHECK(d.samples[2].label == -1);
    CHECK(d.samples[2].group == "3");
    CHECK(fs::path(d.samples[0].image_path).is_absolute());
    CHECK(fs::path(d.samples[0].image_path) == fs::absolute(files.dir.path() / "data" / "1.jpg").lexically_normal());
    CHECK(d.labelled() == 2);
    CHECK(d.unlabelled() == 1);
    CHECK(d.class_counts() == std::vector<std::size_t>{1, 0, 1});
    CHECK(log.str().empty());
}

TEST_CASE("a missing image fails with list line, sample id and path", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.sample("2", "neutral");
    fs::remove(files.dir.path() / "data" / "2.jpg");
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("train.txt:3: sample '2': image not found"));
    CHECK_THAT(message, Catch::Contains("2.jpg"));
    CHECK_THAT(message, Catch::Contains("on_error = \"skip\""));
}

TEST_CASE("a missing text file fails with its path", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    fs::remove(files.dir.path() / "data" / "1.txt");
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("sample '1': text file not found"));
    CHECK_THAT(message, Catch::Contains("1.txt"));
}

TEST_CASE("a text file that is a folder or a device fails as unreadable, not as an escaped I/O error",
          "[dataset][jsonl]") {
    // Found by fuzz.jsonl_dataset: libstdc++'s filebuf throws when a read fails (a folder
    // opens, then reads fail with EISDIR), and /dev/zero never ends.
    TempDir dir;
    dir.write("a.jpg", msa::test::tiny_jpeg());
    fs::create_directories(dir.path() / "texts");
    dir.write("posts.jsonl", "{\"id\": \"a\", \"text_file\": \"texts\", \"image\": \"a.jpg\"}\n"
                             "{\"id\": \"b\", \"text_file\": \"/dev/zero\", \"image\": \"a.jpg\"}\n"
                             "{\"id\": \"c\", \"text\": \"kept\", \"image\": \"a.jpg\"}\n");
    DatasetConfig c;
    c.format = "jsonl";
    c.root = dir.path();
    CHECK_THAT(read_error(c), Catch::Contains("posts.jsonl:1: sample 'a': the text file ") &&
                                  Catch::Contains("texts is a folder; expected a file holding the post's text"));
    c.on_error = "skip";
    std::ostringstream log;
    const Dataset dataset = read_dataset(c, log);
    REQUIRE(dataset.samples.size() == 1);
    CHECK(dataset.samples[0].id == "c");
    CHECK_THAT(log.str(), Catch::Contains("posts.jsonl:2: sample 'b': the text file /dev/zero is not a regular file"));
}

TEST_CASE("an image that is a folder or a device fails as unreadable", "[dataset][jsonl]") {
    TempDir dir;
    fs::create_directories(dir.path() / "pictures");
    dir.write("posts.jsonl", "{\"id\": \"a\", \"text\": \"t\", \"image\": \"pictures\"}\n"
                             "{\"id\": \"b\", \"text\": \"t\", \"image\": \"/dev/zero\"}\n");
    DatasetConfig c;
    c.format = "jsonl";
    c.root = dir.path();
    c.on_error = "skip";
    std::ostringstream log;
    CHECK(read_dataset(c, log).samples.empty());
    CHECK_THAT(log.str(), Catch::Contains("posts.jsonl:1: sample 'a':") && Catch::Contains("posts.jsonl:2: sample 'b':"));
}

TEST_CASE("a truncated JPEG fails as truncated", "[dataset]") {
    GuidTagFiles files;
    files.sample("7", "positive", "text", msa::test::tiny_jpeg().substr(0, 200));
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("sample '7'"));
    CHECK_THAT(message, Catch::Contains("truncated"));
}

TEST_CASE("a corrupt JPEG header fails as corrupt", "[dataset]") {
    GuidTagFiles files;
    std::string jpeg = msa::test::tiny_jpeg();
    jpeg[147] = jpeg[148] = 0; // width 0
    files.sample("7", "positive", "text", jpeg);
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("sample '7'"));
    CHECK_THAT(message, Catch::Contains("corrupt"));
}

TEST_CASE("a PNG named .jpg is kept with a warning naming the format", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.sample("2", "negative", "text", msa::test::tiny_png());
    std::ostringstream log;
    const Dataset d = read_dataset(files.config(), log);
    CHECK(d.samples.size() == 2);
    REQUIRE(d.warnings.size() == 1);
    CHECK(d.warnings[0].sample_id == "2");
    CHECK_THAT(log.str(), Catch::Contains("warning: "));
    CHECK_THAT(log.str(), Catch::Contains("2.jpg is PNG though named .jpg"));
}

TEST_CASE("a GIF named .jpg fails as an unsupported format", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "text", msa::test::tiny_gif());
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("1.jpg is GIF though named .jpg"));
    CHECK_THAT(message, Catch::Contains("JPEG and PNG are accepted"));
}

TEST_CASE("a WebP named .jpg fails as an unsupported format", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "text", msa::test::tiny_webp());
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("is WebP though named .jpg"));
    CHECK_THAT(message, Catch::Contains("JPEG and PNG are accepted"));
}

TEST_CASE("an empty text fails", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", " \n");
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("sample '1'"));
    CHECK_THAT(message, Catch::Contains("holds no text"));
}

TEST_CASE("a duplicate guid fails naming the first listing", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.sample("2", "neutral");
    files.train += "1,negative\n";
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("train.txt:4: sample '1': duplicate id '1', first listed at"));
    CHECK_THAT(message, Catch::Contains("train.txt:2"));
}

TEST_CASE("an unknown label fails listing the accepted ones", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "postive");
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("unknown label 'postive' (did you mean 'positive'?)"));
    CHECK_THAT(message, Catch::Contains("accepted: negative, neutral, positive"));
}

TEST_CASE("a labelled row in test_without_label.txt fails", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.dir.write("data/2.txt", "text");
    files.dir.write("data/2.jpg", msa::test::tiny_jpeg());
    files.test += "2,negative\n";
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("test_without_label.txt:2: sample '2'"));
    CHECK_THAT(message, Catch::Contains("expected 'null'"));
}

TEST_CASE("a wrong CSV header fails even when skipping", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.train = "id,label\n1,positive\n";
    const std::string message = read_error(files.config("skip"));
    CHECK_THAT(message, Catch::Contains("train.txt:1: the header is 'id,label'; expected 'guid,tag'"));
}

TEST_CASE("a malformed CSV line fails with its line", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.train += "2,positive,extra\n";
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("train.txt:3: sample '2': malformed line"));
    CHECK_THAT(message, Catch::Contains("found 3 fields"));
}

TEST_CASE("a guid that would leave the data folder is malformed", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.train += "../../etc/passwd,positive\n";
    const std::string message = read_error(files.config());
    CHECK_THAT(message, Catch::Contains("train.txt:3: malformed line"));
    CHECK_THAT(message, Catch::Contains("letters, digits"));
}

TEST_CASE("a missing train.txt fails naming the file", "[dataset]") {
    TempDir dir;
    DatasetConfig c;
    c.root = dir.path();
    const std::string message = read_error(c);
    CHECK_THAT(message, Catch::Contains("train.txt"));
    CHECK_THAT(message, Catch::Contains("not found"));
}

TEST_CASE("on_error fail names the first problem and counts the rest", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "");
    files.sample("2", "neutral");
    files.sample("3", "negative");
    fs::remove(files.dir.path() / "data" / "2.jpg");
    fs::remove(files.dir.path() / "data" / "3.jpg");
    try {
        std::ostringstream log;
        read_dataset(files.config(), log);
        FAIL("no error");
    } catch (const DatasetError& e) {
        CHECK(e.problem().sample_id == "1");
        CHECK(e.problem().kind == "empty text");
        CHECK(e.problem().line == 2);
        CHECK_THAT(std::string(e.what()), Catch::Contains("(and 2 more problems: 2 missing image)"));
    }
}

TEST_CASE("on_error skip logs each problem and a summary", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    files.sample("2", "neutral");
    files.sample("3", "negative", "\n");
    files.sample("4", "positive");
    files.sample("5", "null");
    fs::remove(files.dir.path() / "data" / "2.jpg");
    fs::remove(files.dir.path() / "data" / "4.jpg");
    std::ostringstream log;
    const Dataset d = read_dataset(files.config("skip"), log);
    CHECK(d.samples.size() == 2);
    CHECK(d.skipped.size() == 3);
    CHECK(d.listed == 5);
    const std::string out = log.str();
    CHECK(std::count(out.begin(), out.end(), '\n') == 4);
    CHECK_THAT(out, Catch::Contains("skipped: "));
    CHECK_THAT(out, Catch::Contains("sample '2': image not found"));
    CHECK_THAT(out, Catch::Contains("sample '3': text file"));
    CHECK_THAT(out, Catch::Contains("skipped 3 of 5 samples: 2 missing image, 1 empty text"));
}

TEST_CASE("a text that is not the named encoding fails with the byte offset", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "ok \xD6\xD0\xCE\xC4");
    DatasetConfig c = files.config();
    c.encoding = "utf-8";
    const std::string message = read_error(c);
    CHECK_THAT(message, Catch::Contains("sample '1'"));
    CHECK_THAT(message, Catch::Contains("not valid UTF-8 at byte offset 3"));
}

TEST_CASE("an encoding iconv does not know fails before reading", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive");
    DatasetConfig c = files.config();
    c.encoding = "gb-2312-typo";
    CHECK_THAT(read_error(c), Catch::Contains("dataset.encoding: unknown text encoding 'gb-2312-typo'"));
}

TEST_CASE("encoding auto reads a GBK dataset as GB18030, accidental UTF-8 included", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "\xD6\xD0\xCE\xC4\n"); // 中文, not UTF-8
    files.sample("2", "negative", "\xB2\xBB\xBA\xC3\n"); // 不好, not UTF-8
    files.sample("3", "neutral", "(\xD0\xA6)\n");        // (笑) in GBK; also UTF-8 for (Ц)
    files.sample("4", "neutral", "ascii only\n");
    std::ostringstream log;
    const Dataset d = read_dataset(files.config(), log);
    CHECK(d.text_encoding == "gb18030");
    CHECK(d.samples[0].text == "\xE4\xB8\xAD\xE6\x96\x87");
    CHECK(d.samples[2].text == "(\xE7\xAC\x91)");
    CHECK(d.samples[3].text == "ascii only");
    CHECK_THAT(log.str(), Catch::Contains("texts read as GB18030"));
}

TEST_CASE("encoding auto reads a UTF-8 dataset as UTF-8 and warns for a GBK straggler", "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "caf\xC3\xA9\n");
    files.sample("2", "negative", "\xE4\xB8\xAD\xE6\x96\x87\n");
    files.sample("3", "neutral", "\xD6\xD0\xCE\xC4\n");
    std::ostringstream log;
    const Dataset d = read_dataset(files.config(), log);
    CHECK(d.text_encoding == "utf-8");
    CHECK(d.samples[0].text == "caf\xC3\xA9");
    CHECK(d.samples[2].text == "\xE4\xB8\xAD\xE6\x96\x87");
    REQUIRE(d.warnings.size() == 1);
    CHECK(d.warnings[0].sample_id == "3");
    CHECK_THAT(log.str(), Catch::Contains("read as GB18030"));
}

TEST_CASE("a guid,tag list read against a dataset: listed and unlisted pairs, bad rows at their list line",
          "[dataset]") {
    GuidTagFiles files;
    files.sample("1", "positive", "\xD6\xD0\xCE\xC4\n"); // GBK: the dataset reads as GB18030
    files.sample("2", "negative", "\xB2\xBB\xBA\xC3\n");
    files.sample("3", "null", "(\xD0\xA6)\n"); // (笑) in GBK, valid UTF-8 by accident
    files.sample("5", "neutral");
    fs::remove(files.dir.path() / "data" / "5.jpg"); // a bad sample of the dataset itself
    // Pairs no list names, both valid UTF-8 by accident: were they to vote, UTF-8 would win.
    for (const char* guid : {"8", "9"}) {
        files.dir.write(std::string("data/") + guid + ".txt", "(\xD0\xA6)\n");
        files.dir.write(std::string("data/") + guid + ".jpg", msa::test::tiny_jpeg());
    }
    files.dir.write("data/10.txt", "no image\n");
    const DatasetConfig config = files.config();
    const fs::path list = files.dir.write("list.txt", "guid,tag\n3,null\n9,null\n77,null\n1,positive,x\n\n1,null\n"
                                                      "5,null\n10,null\n8,null\n");
    std::ostringstream log;
    const auto rows = msa::data::read_listed_samples(config, list, log);
    REQUIRE(rows.size() == 8);
    const auto text_of = [&](std::size_t i) { return rows[i].sample ? rows[i].sample->text : "(no sample)"; };
    CHECK(text_of(0) == "(\xE7\xAC\x91)");
    CHECK(rows[0].sample->label == -1);
    CHECK(text_of(1) == "(\xE7\xAC\x91)"); // unlisted, decoded as the dataset decides
    CHECK(rows[1].sample->image_path == (files.dir.path() / "data" / "9.jpg").string());
    CHECK(rows[1].sample->group == "9");
    CHECK_FALSE(rows[2].sample);
    CHECK(rows[2].problem->to_string() == list.string() + ":4: sample '77': no sample '77' in the dataset " +
                                              fs::absolute(files.dir.path()).lexically_normal().string() +
                                              ": train.txt and test_without_label.txt do not list it and "
                                              "data/77.jpg and data/77.txt do not exist");
    CHECK(rows[3].problem->kind == "malformed line");
    CHECK(rows[3].line == 5);
    CHECK(text_of(4) == "\xE4\xB8\xAD\xE6\x96\x87"); // a labelled row predicts like any other
    CHECK(rows[4].sample->label == 2);
    CHECK(rows[4].line == 7);
    CHECK(rows[5].problem->kind == "missing image");
    CHECK_THAT(rows[5].problem->to_string(), Catch::StartsWith(list.string() + ":8: sample '5': image not found"));
    CHECK(rows[6].problem->kind == "missing image");
    CHECK(text_of(7) == "(\xE7\xAC\x91)");
    CHECK_THAT(log.str(), Catch::Contains("texts read as GB18030"));

    // Other formats have no data folder to look in.
    TempDir dir;
    dir.write("a.jpg", msa::test::tiny_jpeg());
    dir.write("posts.jsonl", "{\"id\": \"a\", \"text\": \"hi\", \"image\": \"a.jpg\", \"label\": null}\n");
    DatasetConfig jsonl;
    jsonl.format = "jsonl";
    jsonl.root = dir.path() / "posts.jsonl";
    const auto posts = msa::data::read_listed_samples(jsonl, dir.write("ids.txt", "guid,tag\na,null\nb,null\n"), log);
    REQUIRE(posts.size() == 2);
    CHECK(posts[0].sample->text == "hi");
    CHECK_THAT(posts[1].problem->message, Catch::EndsWith("(format jsonl)"));
}

TEST_CASE("a guid,tag list read against a folder of new posts: data/ alone, no train.txt", "[dataset]") {
    TempDir dir;
    dir.write("data/1.txt", "\xD6\xD0\xCE\xC4\n"); // GBK, so auto decides on this folder's texts
    dir.write("data/1.jpg", msa::test::tiny_jpeg());
    DatasetConfig config;
    config.root = dir.path();
    std::ostringstream log;
    const auto rows = msa::data::read_listed_samples(config, dir.write("new.txt", "guid,tag\n1,null\n2,null\n"), log);
    REQUIRE(rows.size() == 2);
    REQUIRE(rows[0].sample);
    CHECK(rows[0].sample->text == "\xE4\xB8\xAD\xE6\x96\x87");
    CHECK(rows[0].sample->label == -1);
    CHECK(rows[1].problem->message == "no sample '2' in the dataset " +
                                          fs::absolute(dir.path()).lexically_normal().string() +
                                          ": it has no train.txt, and data/2.jpg and data/2.txt do not exist");
    // Without data/ either, the missing train.txt is the dataset's error, as before.
    TempDir empty;
    config.root = empty.path();
    CHECK_THROWS_WITH(msa::data::read_listed_samples(config, dir.path() / "new.txt", log),
                      Catch::Contains("train.txt") && Catch::Contains("list file not found"));
}

TEST_CASE("mvsa reader merges MVSA-Single text and image labels", "[dataset][mvsa]") {
    TempDir dir;
    dir.write("labelResult.txt", "ID\ttext,image\n"
                                 "1\tpositive,positive\n"
                                 "2\tneutral,negative\n"
                                 "3\tpositive,neutral\n"
                                 "4\tpositive,negative\n"
                                 "5\tneutral,neutral\n");
    for (const char* id : {"1", "2", "3", "4", "5"}) {
        dir.write(std::string("data/") + id + ".txt", "text");
        dir.write(std::string("data/") + id + ".jpg", msa::test::tiny_jpeg());
    }
    DatasetConfig c;
    c.format = "mvsa";
    c.root = dir.path();
    std::ostringstream log;
    const Dataset d = read_dataset(c, log);
    REQUIRE(d.samples.size() == 4);
    CHECK(d.samples[0].label == 2); // positive, positive -> positive
    CHECK(d.samples[1].label == 0); // neutral, negative -> negative
    CHECK(d.samples[2].label == 2); // positive, neutral -> positive
    CHECK(d.samples[3].id == "5");  // 4: positive vs negative is left out
    CHECK(d.samples[3].label == 1);
    CHECK(d.excluded.begin()->second == 1);
    CHECK_THAT(log.str(), Catch::Contains("1 row left out by the MVSA label-merging rules"));
}

TEST_CASE("mvsa reader takes the majority of MVSA-Multiple annotators", "[dataset][mvsa]") {
    TempDir dir;
    dir.write("labelResult.txt", "ID\ttext,image\ttext,image\ttext,image\n"
                                 "1\tpositive,neutral\tpositive,positive\tnegative,negative\n"  // pos, pos, neg -> pos
                                 "2\tneutral,neutral\tneutral,neutral\tpositive,positive\n"     // neu, neu, pos -> neu
                                 "3\tpositive,negative\tpositive,positive\tnegative,neutral\n"  // -, pos, neg -> none
                                 "4\tpositive,negative\tpositive,negative\tnegative,negative\n" // -, -, neg -> none
                                 "5\tnegative,neutral\tneutral,negative\tpositive,negative\n"); // neg, neg, - -> neg
    for (const char* id : {"1", "2", "3", "4", "5"}) {
        dir.write(std::string("data/") + id + ".txt", "text");
        dir.write(std::string("data/") + id + ".jpg", msa::test::tiny_jpeg());
    }
    DatasetConfig c;
    c.format = "mvsa";
    c.root = dir.path();
    std::ostringstream log;
    const Dataset d = read_dataset(c, log);
    REQUIRE(d.samples.size() == 3);
    CHECK((d.samples[0].id == "1" && d.samples[0].label == 2));
    CHECK((d.samples[1].id == "2" && d.samples[1].label == 1));
    CHECK((d.samples[2].id == "5" && d.samples[2].label == 0));
    CHECK(d.excluded.at("no majority among the annotators") == 2);
}

TEST_CASE("mvsa reader flags a row with the wrong number of annotators", "[dataset][mvsa]") {
    TempDir dir;
    dir.write("labelResult.txt", "ID\ttext,image\ttext,image\ttext,image\n1\tpositive,positive\tneutral,neutral\n");
    DatasetConfig c;
    c.format = "mvsa";
    c.root = dir.path();
    const std::string message = read_error(c);
    CHECK_THAT(message, Catch::Contains("labelResult.txt:2: sample '1': malformed line"));
    CHECK_THAT(message, Catch::Contains("3 tab-separated 'text,image' pairs, found 3 fields"));
}

TEST_CASE("mvsa reader flags a label MVSA does not use", "[dataset][mvsa]") {
    TempDir dir;
    dir.write("labelResult.txt", "ID\ttext,image\n1\thappy,positive\n");
    DatasetConfig c;
    c.format = "mvsa";
    c.root = dir.path();
    const std::string message = read_error(c);
    CHECK_THAT(message, Catch::Contains("labelResult.txt:2: sample '1'"));
    CHECK_THAT(message, Catch::Contains("'happy'; MVSA labels are positive, neutral and negative"));
}

TEST_CASE("jsonl reader reads inline texts, text files, relative images and null labels", "[dataset][jsonl]") {
    TempDir dir;
    dir.write("img/a.jpg", msa::test::tiny_jpeg());
    dir.write("img/b.png", msa::test::tiny_png());
    dir.write("texts/b.txt", "from a file\n");
    const std::string absolute_image = (dir.path() / "img" / "a.jpg").string();
    dir.write("posts.jsonl",
              "{\"id\": \"a\", \"text\": \"inline\", \"image\": \"img/a.jpg\", \"label\": \"negative\"}\n"
              "\n"
              "{\"id\": 7, \"text_file\": \"texts/b.txt\", \"image\": \"img/b.png\", \"label\": null}\n"
              "{\"id\": \"a-copy\", \"text\": \"copy\", \"image\": \"" +
                  absolute_image + "\", \"label\": \"negative\", \"group\": \"a\"}\n");
    DatasetConfig c;
    c.format = "jsonl";
    c.root = dir.path();
    std::ostringstream log;
    const Dataset d = read_dataset(c, log);
    REQUIRE(d.samples.size() == 3);
    CHECK(d.samples[0].text == "inline");
    CHECK(d.samples[0].label == 0);
    CHECK(d.samples[0].group == "a");
    CHECK(d.samples[1].id == "7");
    CHECK(d.samples[1].text == "from a file");
    CHECK(d.samples[1].label == -1);
    CHECK(fs::path(d.samples[1].image_path) == (dir.path() / "img" / "b.png").lexically_normal());
    CHECK(d.samples[2].group == "a");
    CHECK(log.str().empty());
}

TEST_CASE("a malformed JSON line fails with its line", "[dataset][jsonl]") {
    TempDir dir;
    dir.write("a.jpg", msa::test::tiny_jpeg());
    dir.write("posts.jsonl", "{\"id\": \"a\", \"text\": \"ok\", \"image\": \"a.jpg\", \"label\": \"neutral\"}\n"
                             "{\"id\": \"b\", \"text\": \"cut\n");
    DatasetConfig c;
    c.format = "jsonl";
    c.root = dir.path() / "posts.jsonl";
    const std::string message = read_error(c);
    CHECK_THAT(message, Catch::Contains("posts.jsonl:2: not valid JSON"));
}

TEST_CASE("an unknown JSON key fails with the nearest accepted one", "[dataset][jsonl]") {
    TempDir dir;
    dir.write("a.jpg", msa::test::tiny_jpeg());
    dir.write("posts.jsonl", "{\"id\": \"a\", \"text\": \"ok\", \"image\": \"a.jpg\", \"lable\": \"neutral\"}\n");
    DatasetConfig c;
    c.format = "jsonl";
    c.root = dir.path();
    const std::string message = read_error(c);
    CHECK_THAT(message, Catch::Contains("posts.jsonl:1: sample 'a': unknown key 'lable' (did you mean 'label'?)"));
}

TEST_CASE("an empty inline JSON text fails", "[dataset][jsonl]") {
    TempDir dir;
    dir.write("a.jpg", msa::test::tiny_jpeg());
    dir.write("posts.jsonl", "{\"id\": \"a\", \"text\": \"  \", \"image\": \"a.jpg\", \"label\": \"neutral\"}\n");
    DatasetConfig c;
    c.format = "jsonl";
    c.root = dir.path();
    CHECK_THAT(read_error(c), Catch::Contains("sample 'a': \"text\" is empty"));
}

TEST_CASE("the mvsa-ecnu reader yields the documented counts", "[dataset][mvsa-ecnu]") {
    const fs::path root = mvsa_ecnu_root();
    if (!fs::exists(root / "train.txt"))
        MSA_SKIP("mvsa-ecnu not found at " << root.string() << " (set MSA_SHARED_DIR)");
    DatasetConfig c;
    c.root = root;
    std::ostringstream log;
    const auto start = std::chrono::steady_clock::now();
    const Dataset d = read_dataset(c, log);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(d.labelled() == 3501);
    CHECK(d.unlabelled() == 511);
    CHECK(d.class_counts() == std::vector<std::size_t>{1044, 367, 2090}); // negative, neutral, positive
    CHECK(d.skipped.empty());
    CHECK(d.warnings.empty());
    CHECK(d.text_encoding == "gb18030");
    const auto s4499 =
        std::find_if(d.samples.begin(), d.samples.end(), [](const msa::Sample& s) { return s.id == "4499"; });
    REQUIRE(s4499 != d.samples.end());
    CHECK_THAT(s4499->text, Catch::Contains("(\xE7\xAC\x91)")); // (笑), not the accidental UTF-8 (Ц)
    CHECK(seconds < 30.0); // about 0.2 s warm; generous for cold caches and loaded machines
}
