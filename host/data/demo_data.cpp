// The demo dataset: every draw comes from one mt19937_64 through msa::uniform_below, and
// the drawing uses only integer and basic float arithmetic (no std distributions, no
// trigonometry), so a seed gives the same bytes with every compiler and standard library
// (JPEG bytes also depend on the libjpeg-turbo version).
#include "data/demo_data.hpp"

#include <msa/error.hpp>
#include <msa/media/image.hpp>
#include <msa/random.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace msa::data {
namespace {

namespace fs = std::filesystem;

enum Sentiment { positive = 0, negative = 1, neutral = 2 };
constexpr const char* sentiment_names[] = {"positive", "negative", "neutral"};
// Shares of the labelled rows, as in real tweet data (mvsa-ecnu: 59% / 30% / 10%).
constexpr double class_shares[] = {0.5, 0.3, 0.2};

using Rng = std::mt19937_64;

// Uniform in [0, 1) from 30 bits: the same on every platform.
double unit(Rng& rng) { return static_cast<double>(uniform_below(rng, 1u << 30)) / static_cast<double>(1u << 30); }
double between(Rng& rng, double lo, double hi) { return lo + (hi - lo) * unit(rng); }
int int_between(Rng& rng, int lo, int hi) { return lo + static_cast<int>(uniform_below(rng, static_cast<std::uint64_t>(hi - lo + 1))); }
bool chance(Rng& rng, double p) { return unit(rng) < p; }
template <class T, std::size_t N>
const T& pick(Rng& rng, const T (&items)[N]) { return items[uniform_below(rng, N)]; }

// ---- images -------------------------------------------------------------------------

struct Rgb {
    double r, g, b;
};

// hue in degrees [0, 360), saturation and value in [0, 1].
Rgb hsv(double hue, double saturation, double value) {
    while (hue >= 360) hue -= 360;
    while (hue < 0) hue += 360;
    const double c = value * saturation;
    const double h = hue / 60;
    const int sector = static_cast<int>(h);
    const double f = h - sector;
    const double x = c * (sector % 2 == 0 ? f : 1 - f);
    const double m = value - c;
    Rgb out{};
    switch (sector) {
    case 0: out = {c, x, 0}; break;
    case 1: out = {x, c, 0}; break;
    case 2: out = {0, c, x}; break;
    case 3: out = {0, x, c}; break;
    case 4: out = {x, 0, c}; break;
    default: out = {c, 0, x}; break;
    }
    return {(out.r + m) * 255, (out.g + m) * 255, (out.b + m) * 255};
}

// A colour that carries `sentiment`: warm and bright, cool and dark, or grey.
Rgb palette_colour(Rng& rng, int sentiment, double brightness_shift = 0) {
    switch (sentiment) {
    case positive: return hsv(between(rng, -15, 60), between(rng, 0.55, 0.95), between(rng, 0.75, 1.0) + brightness_shift);
    case negative: return hsv(between(rng, 190, 275), between(rng, 0.3, 0.75), between(rng, 0.15, 0.45) + brightness_shift);
    default: return hsv(between(rng, 0, 360), between(rng, 0.0, 0.12), between(rng, 0.4, 0.7) + brightness_shift);
    }
}

class Canvas {
public:
    explicit Canvas(int size) : size_(size), pixels_(static_cast<std::size_t>(size) * size) {}
    int size() const { return size_; }

    void gradient(const Rgb& top, const Rgb& bottom) {
        for (int y = 0; y < size_; ++y) {
            const double t = static_cast<double>(y) / (size_ - 1);
            const Rgb c{top.r + (bottom.r - top.r) * t, top.g + (bottom.g - top.g) * t, top.b + (bottom.b - top.b) * t};
            for (int x = 0; x < size_; ++x) at(x, y) = c;
        }
    }
    void disk(double cx, double cy, double r, const Rgb& c) {
        for (int y = std::max(0, static_cast<int>(cy - r - 1)); y <= std::min(size_ - 1, static_cast<int>(cy + r + 1)); ++y)
            for (int x = std::max(0, static_cast<int>(cx - r - 1)); x <= std::min(size_ - 1, static_cast<int>(cx + r + 1)); ++x)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) at(x, y) = c;
    }
    // An isosceles triangle of half-width `s` around (cx, cy), apex up or down.
    void triangle(double cx, double cy, double s, bool up, const Rgb& c) {
        for (int y = std::max(0, static_cast<int>(cy - s)); y <= std::min(size_ - 1, static_cast<int>(cy + s)); ++y) {
            const double from_apex = up ? y - (cy - s) : (cy + s) - y; // 0 at the apex, 2s at the base
            if (from_apex < 0) continue;
            for (int x = std::max(0, static_cast<int>(cx - s)); x <= std::min(size_ - 1, static_cast<int>(cx + s)); ++x)
                if (std::abs(x - cx) <= from_apex / 2) at(x, y) = c;
        }
    }
    void rect(double x0, double y0, double x1, double y1, const Rgb& c) {
        for (int y = std::max(0, static_cast<int>(y0)); y <= std::min(size_ - 1, static_cast<int>(y1)); ++y)
            for (int x = std::max(0, static_cast<int>(x0)); x <= std::min(size_ - 1, static_cast<int>(x1)); ++x)
                at(x, y) = c;
    }
    // A mouth: y = base + bend * (1 - t^2) for t in [-1, 1] across `half_width`: bend > 0
    // puts the middle lower than the corners (a smile), bend < 0 a frown, 0 a straight line.
    void mouth(double cx, double base, double half_width, double bend, double thickness, const Rgb& c) {
        const int steps = static_cast<int>(half_width * 4) + 2;
        for (int i = 0; i <= steps; ++i) {
            const double t = -1 + 2.0 * i / steps;
            disk(cx + t * half_width, base + bend * (1 - t * t), thickness, c);
        }
    }
    // Adds uniform noise of +-amplitude to every channel and rounds to 8 bits.
    media::Image finish(Rng& rng, int amplitude) const {
        media::Image image{size_, size_, std::vector<std::uint8_t>(pixels_.size() * 3)};
        for (std::size_t i = 0; i < pixels_.size(); ++i) {
            const double channels[3] = {pixels_[i].r, pixels_[i].g, pixels_[i].b};
            for (int k = 0; k < 3; ++k) {
                const int noise = static_cast<int>(uniform_below(rng, 2 * amplitude + 1)) - amplitude;
                const int v = static_cast<int>(std::lround(channels[k])) + noise;
                image.rgb[i * 3 + k] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
            }
        }
        return image;
    }

private:
    Rgb& at(int x, int y) { return pixels_[static_cast<std::size_t>(y) * size_ + x]; }
    int size_;
    std::vector<Rgb> pixels_;
};

// A scene whose colours and shapes carry `sentiment`; some scenes borrow another class's
// background or lack the face, so the image alone is informative but not decisive.
media::Image draw_scene(Rng& rng, int sentiment, int size) {
    Canvas canvas(size);
    const double s = size / 96.0; // shapes are designed at 96 px
    const int background = chance(rng, 0.15) ? static_cast<int>(uniform_below(rng, 3)) : sentiment;
    canvas.gradient(palette_colour(rng, background), palette_colour(rng, background, -0.15));

    // 2-4 shapes: triangles pointing up (positive) or down (negative), blocks (neutral).
    const int shapes = int_between(rng, 2, 4);
    for (int i = 0; i < shapes; ++i) {
        const double cx = between(rng, 0, size), cy = between(rng, 0, size), r = between(rng, 5, 14) * s;
        const Rgb colour = palette_colour(rng, sentiment, sentiment == negative ? 0.1 : 0);
        if (sentiment == neutral)
            canvas.rect(cx - r, cy - r * 0.6, cx + r, cy + r * 0.6, colour);
        else
            canvas.triangle(cx, cy, r, sentiment == positive, colour);
    }

    // The face: yellow and smiling, dim blue and frowning, grey with a straight mouth.
    if (chance(rng, 0.8)) {
        const double r = between(rng, 20, 30) * s;
        const double cx = between(rng, r, size - r), cy = between(rng, r, size - r);
        const Rgb face = sentiment == positive   ? hsv(between(rng, 42, 58), between(rng, 0.75, 0.95), between(rng, 0.9, 1.0))
                         : sentiment == negative ? hsv(between(rng, 200, 240), between(rng, 0.2, 0.45), between(rng, 0.35, 0.55))
                                                 : hsv(0, 0, between(rng, 0.55, 0.8));
        const Rgb ink = hsv(0, 0, between(rng, 0.0, 0.15));
        canvas.disk(cx, cy, r, face);
        const double eye = r * between(rng, 0.1, 0.14);
        canvas.disk(cx - r * 0.38, cy - r * 0.3, eye, ink);
        canvas.disk(cx + r * 0.38, cy - r * 0.3, eye, ink);
        const double bend = sentiment == positive ? r * between(rng, 0.15, 0.3)
                            : sentiment == negative ? -r * between(rng, 0.15, 0.3)
                                                    : 0;
        const double base = cy + r * (sentiment == negative ? 0.55 : 0.25);
        canvas.mouth(cx, base, r * between(rng, 0.4, 0.55), bend, std::max(1.0, r * 0.07), ink);
    }
    return canvas.finish(rng, 12);
}

// ---- texts --------------------------------------------------------------------------

// Per class: adjectives, hashtags, openers. A few entries are non-ASCII UTF-8.
constexpr const char* adjectives[3][12] = {
    {"great", "wonderful", "lovely", "amazing", "brilliant", "fantastic", "delightful", "joyful", "perfect", "awesome",
     "génial", "so much fun"},
    {"awful", "terrible", "horrible", "gloomy", "disappointing", "miserable", "dreadful", "sad", "broken", "annoying",
     "désastreux", "a total mess"},
    {"ordinary", "average", "scheduled", "usual", "routine", "standard", "typical", "on time", "unchanged", "as planned",
     "normal", "listed"},
};
constexpr const char* hashtags[3][6] = {
    {"#happy", "#blessed", "#love", "#goodvibes", "#sunshine", "#winning"},
    {"#fail", "#sad", "#worst", "#ugh", "#nightmare", "#angry"},
    {"#news", "#update", "#info", "#schedule", "#report", "#notice"},
};
constexpr const char* openers[3][5] = {
    {"so happy:", "yes!", "what a day:", "loving it:", "best news:"},
    {"ugh,", "so sad:", "really upset:", "not again:", "worst news:"},
    {"fyi:", "update:", "note:", "today:", "reminder:"},
};
// Shared by every class.
constexpr const char* nouns[] = {"morning", "coffee", "concert", "train ride", "weekend", "match", "café", "meeting",
                                 "view", "dinner", "trip to Zürich", "flight", "lecture", "market", "crème brûlée",
                                 "piñata party", "new phone", "game"};
constexpr const char* users[] = {"@anna", "@ben_92", "@citynews", "@dave", "@lena_k", "@mo"};
constexpr const char* fillers[] = {"today", "this morning", "tonight", "again", "right now", "this week"};
constexpr const char* shared_tags[] = {"#life", "#today", "#weekend", "#city"};

std::string draw_text(Rng& rng, int sentiment) {
    const char* adj = pick(rng, adjectives[sentiment]);
    const char* adj2 = pick(rng, adjectives[sentiment]);
    const char* noun = pick(rng, nouns);
    const char* tag = chance(rng, 0.7) ? pick(rng, hashtags[sentiment]) : pick(rng, shared_tags);
    std::string text;
    switch (uniform_below(rng, 5)) {
    case 0: text = std::string("the ") + noun + " was " + adj + " " + pick(rng, fillers) + " " + tag; break;
    case 1: text = std::string(pick(rng, openers[sentiment])) + " " + adj + " " + noun + " " + pick(rng, fillers) + "… " + tag; break;
    case 2: text = std::string("what a ") + adj + " " + noun + "! " + tag + " " + pick(rng, shared_tags); break;
    case 3: text = std::string("just had the ") + noun + ": " + adj + " and " + adj2 + ". " + tag; break;
    default: text = std::string(pick(rng, users)) + " the " + noun + " is " + adj + " — " + tag; break;
    }
    // A clause with another class's word, so that single words are not decisive.
    if (chance(rng, 0.2)) {
        const int other = (sentiment + 1 + static_cast<int>(uniform_below(rng, 2))) % 3;
        text += std::string(", though the ") + pick(rng, nouns) + " was " + pick(rng, adjectives[other]);
    }
    return text + "\n";
}

// ---- files --------------------------------------------------------------------------

void write_text_file(const fs::path& path, const std::string& content) {
    errno = 0;
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) {
        const int err = errno;
        throw Error("demo-data: cannot write " + path.string() + ": " +
                    (err ? std::generic_category().message(err) : std::string("cannot open")));
    }
    file << content;
    if (!file.flush()) throw Error("demo-data: cannot write " + path.string() + ": I/O error");
}

void prepare_folder(const fs::path& out, bool force) {
    std::error_code ec;
    const auto status = fs::status(out, ec);
    if (status.type() == fs::file_type::not_found) {
        fs::create_directories(out, ec);
        if (ec) throw Error("demo-data: cannot create " + out.string() + ": " + ec.message());
    } else if (status.type() != fs::file_type::directory) {
        throw Error("demo-data: " + out.string() + " exists and is not a folder");
    } else if (!force && fs::directory_iterator(out, ec) != fs::directory_iterator()) {
        throw Error("demo-data: " + out.string() +
                    " is not empty; choose a new folder, or pass --force to write into it (files of the same "
                    "names are replaced, others are left)");
    }
    if (ec) throw Error("demo-data: cannot read " + out.string() + ": " + ec.message());
    fs::create_directories(out / "data", ec);
    if (ec) throw Error("demo-data: cannot create " + (out / "data").string() + ": " + ec.message());
}

// `total` rows split into the class shares (largest remainder, ties to the first class).
std::array<int, 3> class_counts(int total) {
    std::array<int, 3> counts{};
    int given = 0;
    for (int c = 0; c < 3; ++c) given += counts[c] = static_cast<int>(std::floor(total * class_shares[c]));
    for (int c = 0; given < total; c = (c + 1) % 3, ++given) ++counts[c];
    return counts;
}

struct Row {
    int text_sentiment = 0;
    int image_sentiment = 0;
    bool labelled = true;
};

} // namespace

DemoDataSummary write_demo_data(const fs::path& out, const DemoDataOptions& options,
                                const std::function<void()>& on_sample) {
    if (options.samples < 10 || options.samples > 1000000)
        throw Error("demo-data: --samples " + std::to_string(options.samples) + " is outside 10-1000000");
    const int unlabelled = options.unlabelled < 0 ? (options.samples + 5) / 10 : options.unlabelled;
    if (unlabelled > 1000000) throw Error("demo-data: --unlabelled " + std::to_string(unlabelled) + " is above 1000000");
    if (!(options.conflict_share >= 0 && options.conflict_share <= 1))
        throw Error("demo-data: --conflicts " + std::to_string(options.conflict_share) + " is outside 0-1");
    if (options.image_size < 32 || options.image_size > 1024)
        throw Error("demo-data: --size " + std::to_string(options.image_size) + " is outside 32-1024");
    prepare_folder(out, options.force);

    Rng rng(options.seed);
    DemoDataSummary summary;
    summary.folder = out;

    // Rows: exact class counts for each list, shuffled together; the guid is the position.
    std::vector<Row> rows;
    auto add_rows = [&](int total, bool labelled, std::array<int, 3>& counts) {
        counts = class_counts(total);
        std::vector<std::size_t> order;
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < counts[c]; ++i) {
                order.push_back(rows.size());
                rows.push_back({c, c, labelled});
            }
        // Conflicts: an exact share of the list, spread over its classes by a shuffle; the
        // image shows one of the two other sentiments, the label stays the text's.
        seeded_shuffle(order, rng);
        const auto conflicts = static_cast<std::size_t>(std::lround(total * options.conflict_share));
        for (std::size_t i = 0; i < conflicts && i < order.size(); ++i) {
            Row& row = rows[order[i]];
            row.image_sentiment = (row.text_sentiment + 1 + static_cast<int>(uniform_below(rng, 2))) % 3;
        }
        if (labelled) summary.labelled_conflicts = static_cast<int>(conflicts);
        summary.conflicts += static_cast<int>(conflicts);
    };
    add_rows(options.samples, true, summary.labelled);
    add_rows(unlabelled, false, summary.unlabelled);
    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    seeded_shuffle(order, rng);

    std::string train = "guid,tag\n", test = "guid,tag\n";
    std::string truth = "guid,list,tag,text_sentiment,image_sentiment,conflict\n";
    for (std::size_t position = 0; position < order.size(); ++position) {
        const Row& row = rows[order[position]];
        const std::string guid = std::to_string(position + 1);
        // Each sample draws from its own generator, seeded from the main one, so that
        // changing how one sample is drawn leaves the others' draws in place.
        Rng sample_rng(rng());
        const std::string text = draw_text(sample_rng, row.text_sentiment);
        const media::Image image = draw_scene(sample_rng, row.image_sentiment, options.image_size);
        write_text_file(out / "data" / (guid + ".txt"), text);
        media::write_jpeg(image, (out / "data" / (guid + ".jpg")).string(), 90);
        const char* tag = row.labelled ? sentiment_names[row.text_sentiment] : "null";
        (row.labelled ? train : test) += guid + "," + tag + "\n";
        truth += guid + "," + (row.labelled ? "train" : "test_without_label") + "," + tag + "," +
                 sentiment_names[row.text_sentiment] + "," + sentiment_names[row.image_sentiment] + "," +
                 (row.text_sentiment != row.image_sentiment ? "1" : "0") + "\n";
        if (on_sample) on_sample();
    }
    write_text_file(out / "train.txt", train);
    write_text_file(out / "test_without_label.txt", test);
    write_text_file(out / "truth.csv", truth);
    return summary;
}

} // namespace msa::data
