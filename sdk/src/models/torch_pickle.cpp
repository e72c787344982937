// torch.save files (the zip archive of PyTorch >= 1.6 and the legacy stream before it)
// read with our own restricted unpickler: like torch.load(weights_only=True), it builds
// only dicts, lists, tuples, scalars and tensors, and refuses every other global by name.
#include "checkpoint_files.hpp"

#include <c10/core/CPUAllocator.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <unordered_map>

namespace msa::models {
namespace {

namespace fs = std::filesystem;

// What a global name may stand for; anything not in kGlobals is refused.
enum class Global {
    ordered_dict,
    rebuild_tensor,
    rebuild_tensor_v2,
    rebuild_parameter,
    rebuild_parameter_with_state,
    rebuild_from_type_v2,
    tensor_type,
    storage_type,
    dtype,
    codecs_encode,
    torch_size,
    torch_device,
};

struct GlobalEntry {
    const char* module;
    const char* name;
    Global kind;
    c10::ScalarType type; // storage types and dtypes only
};

constexpr auto kNoType = c10::ScalarType::Undefined;

// The globals a state dict needs, as torch.load(weights_only=True) allows them.
constexpr GlobalEntry kGlobals[] = {
    {"collections", "OrderedDict", Global::ordered_dict, kNoType},
    {"torch._utils", "_rebuild_tensor", Global::rebuild_tensor, kNoType},
    {"torch._utils", "_rebuild_tensor_v2", Global::rebuild_tensor_v2, kNoType},
    {"torch._utils", "_rebuild_parameter", Global::rebuild_parameter, kNoType},
    {"torch._utils", "_rebuild_parameter_with_state", Global::rebuild_parameter_with_state, kNoType},
    {"torch._tensor", "_rebuild_from_type_v2", Global::rebuild_from_type_v2, kNoType},
    {"torch", "Tensor", Global::tensor_type, kNoType},
    {"torch.nn.parameter", "Parameter", Global::tensor_type, kNoType},
    {"torch", "DoubleStorage", Global::storage_type, c10::kDouble},
    {"torch", "FloatStorage", Global::storage_type, c10::kFloat},
    {"torch", "HalfStorage", Global::storage_type, c10::kHalf},
    {"torch", "BFloat16Storage", Global::storage_type, c10::kBFloat16},
    {"torch", "LongStorage", Global::storage_type, c10::kLong},
    {"torch", "IntStorage", Global::storage_type, c10::kInt},
    {"torch", "ShortStorage", Global::storage_type, c10::kShort},
    {"torch", "CharStorage", Global::storage_type, c10::kChar},
    {"torch", "ByteStorage", Global::storage_type, c10::kByte},
    {"torch", "BoolStorage", Global::storage_type, c10::kBool},
    {"torch", "float64", Global::dtype, c10::kDouble},
    {"torch", "float32", Global::dtype, c10::kFloat},
    {"torch", "float16", Global::dtype, c10::kHalf},
    {"torch", "bfloat16", Global::dtype, c10::kBFloat16},
    {"torch", "int64", Global::dtype, c10::kLong},
    {"torch", "int32", Global::dtype, c10::kInt},
    {"torch", "int16", Global::dtype, c10::kShort},
    {"torch", "int8", Global::dtype, c10::kChar},
    {"torch", "uint8", Global::dtype, c10::kByte},
    {"torch", "bool", Global::dtype, c10::kBool},
    {"_codecs", "encode", Global::codecs_encode, kNoType}, // how protocol 2 pickles bytes
    {"torch", "Size", Global::torch_size, kNoType},
    {"torch", "device", Global::torch_device, kNoType},
};

std::string accepted_globals() {
    std::string out;
    for (const auto& g : kGlobals)
        if (g.kind != Global::dtype && g.kind != Global::storage_type)
            out += (out.empty() ? "" : ", ") + std::string(g.module) + "." + g.name;
    return out + ", torch.<Type>Storage and torch.<dtype>";
}

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// One Python object, as far as a state dict needs them.
struct Value {
    enum class Type { none, boolean, integer, big_integer, real, string, bytes, tuple, list, dict, global, storage, tensor };
    Type type = Type::none;
    bool boolean = false;
    std::int64_t integer = 0;
    double real = 0;
    std::string text; // string, bytes, big_integer's little-endian bytes, global's dotted name
    std::vector<ValuePtr> items;                          // tuple, list
    std::vector<std::pair<ValuePtr, ValuePtr>> entries;   // dict, in insertion order
    std::unordered_map<std::string, std::size_t> by_key;  // dict: index of each string key
    Global global = Global::ordered_dict;
    c10::ScalarType scalar = kNoType; // storage's and storage type's element type, dtype
    at::Storage storage;
    std::int64_t storage_offset = 0; // elements; a legacy view into a larger storage
    std::int64_t storage_numel = 0;
    at::Tensor tensor;

    static ValuePtr make(Type type) {
        auto v = std::make_shared<Value>();
        v->type = type;
        return v;
    }
    void set_item(ValuePtr key, ValuePtr value) {
        if (key->type == Type::string) {
            const auto [it, fresh] = by_key.emplace(key->text, entries.size());
            if (!fresh) {
                entries[it->second].second = std::move(value);
                return;
            }
        }
        entries.emplace_back(std::move(key), std::move(value));
    }
};

const char* type_name(const Value& v) {
    switch (v.type) {
    case Value::Type::none: return "None";
    case Value::Type::boolean: return "bool";
    case Value::Type::integer:
    case Value::Type::big_integer: return "int";
    case Value::Type::real: return "float";
    case Value::Type::string: return "str";
    case Value::Type::bytes: return "bytes";
    case Value::Type::tuple: return "tuple";
    case Value::Type::list: return "list";
    case Value::Type::dict: return "dict";
    case Value::Type::global: return "global";
    case Value::Type::storage: return "storage";
    case Value::Type::tensor: return "tensor";
    }
    return "object";
}

// Turns a persistent id (a tuple starting with 'storage') into a storage Value.
using PersistentLoad = std::function<ValuePtr(const Value& pid)>;

class Unpickler {
public:
    // `where` names the pickle in messages, e.g. "model.pt (data.pkl)".
    Unpickler(std::string where, const unsigned char* data, std::size_t size, std::size_t position,
              PersistentLoad persistent_load)
        : where_(std::move(where)), data_(data), size_(size), pos_(position),
          persistent_load_(std::move(persistent_load)) {}

    ValuePtr load();
    std::size_t position() const { return pos_; }

    [[noreturn]] void fail(const std::string& message) const {
        throw CheckpointError(where_ + " at byte " + std::to_string(op_pos_) + ": " + message);
    }

private:
    const unsigned char* take(std::size_t n) {
        if (n > size_ - pos_) fail("the pickle ends early (needs " + std::to_string(n) + " more bytes); the file is truncated");
        const auto* p = data_ + pos_;
        pos_ += n;
        return p;
    }
    std::uint64_t read_le(std::size_t n) {
        const auto* p = take(n);
        std::uint64_t v = 0;
        for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
        return v;
    }
    std::string read_line() {
        const auto* begin = data_ + pos_;
        const auto* end = static_cast<const unsigned char*>(std::memchr(begin, '\n', size_ - pos_));
        if (!end) fail("a text argument has no end of line; the file is truncated");
        pos_ += static_cast<std::size_t>(end - begin) + 1;
        return std::string(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(end - begin));
    }
    ValuePtr pop() {
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("the pickle pops from an empty stack");
        auto v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    ValuePtr& top() {
        if (stack_.empty()) fail("the pickle reads an empty stack");
        return stack_.back();
    }
    std::vector<ValuePtr> pop_mark() {
        if (marks_.empty()) fail("the pickle closes a MARK it never opened");
        const auto mark = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)),
                                    std::make_move_iterator(stack_.end()));
        stack_.resize(mark);
        return items;
    }
    void push_string(Value::Type type, std::size_t length) {
        auto v = Value::make(type);
        const auto* p = take(length);
        v->text.assign(reinterpret_cast<const char*>(p), length);
        stack_.push_back(std::move(v));
    }
    void push_integer(std::int64_t i) {
        auto v = Value::make(Value::Type::integer);
        v->integer = i;
        stack_.push_back(std::move(v));
    }
    void push_long(std::size_t length);
    void push_tuple(std::vector<ValuePtr> items) {
        auto v = Value::make(Value::Type::tuple);
        v->items = std::move(items);
        stack_.push_back(std::move(v));
    }
    ValuePtr global(const std::string& module, const std::string& name);
    ValuePtr call(const Value& callable, const Value& args);
    ValuePtr rebuild_tensor(const Value& storage, const Value& offset, const Value& size, const Value& stride);
    std::vector<std::int64_t> int_tuple(const Value& v, const char* what);
    void memo_put(std::uint64_t index) { memo_[index] = top(); }
    ValuePtr memo_get(std::uint64_t index) {
        const auto it = memo_.find(index);
        if (it == memo_.end()) fail("the pickle refers to memo entry " + std::to_string(index) + ", which it never stored");
        return it->second;
    }

    std::string where_;
    const unsigned char* data_;
    std::size_t size_;
    std::size_t pos_;
    std::size_t op_pos_ = 0;
    PersistentLoad persistent_load_;
    std::vector<ValuePtr> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, ValuePtr> memo_;
};

void Unpickler::push_long(std::size_t length) {
    const auto* p = take(length);
    if (length <= 8) {
        // Little-endian two's complement, sign-extended from its last byte.
        std::uint64_t v = (length > 0 && (p[length - 1] & 0x80)) ? ~0ULL : 0ULL;
        for (std::size_t i = length; i-- > 0;) v = (v << 8) | p[i];
        push_integer(static_cast<std::int64_t>(v));
        return;
    }
    auto v = Value::make(Value::Type::big_integer);
    v->text.assign(reinterpret_cast<const char*>(p), length);
    stack_.push_back(std::move(v));
}

ValuePtr Unpickler::global(const std::string& module, const std::string& name) {
    for (const auto& g : kGlobals) {
        if (module != g.module || name != g.name) continue;
        auto v = Value::make(Value::Type::global);
        v->global = g.kind;
        v->scalar = g.type;
        v->text = module + "." + name;
        return v;
    }
    fail("refusing to load the global '" + module + "." + name +
         "': a file of weights has no use for it (torch.load(weights_only=True) refuses it too); "
         "accepted globals: " + accepted_globals());
}

std::vector<std::int64_t> Unpickler::int_tuple(const Value& v, const char* what) {
    if (v.type != Value::Type::tuple && v.type != Value::Type::list)
        fail(std::string("a tensor's ") + what + " must be a tuple of integers, found " + type_name(v));
    std::vector<std::int64_t> out;
    for (const auto& item : v.items) {
        if (item->type != Value::Type::integer || item->integer < 0)
            fail(std::string("a tensor's ") + what + " must hold non-negative integers");
        out.push_back(item->integer);
    }
    return out;
}

ValuePtr Unpickler::rebuild_tensor(const Value& storage, const Value& offset, const Value& size, const Value& stride) {
    if (storage.type != Value::Type::storage)
        fail(std::string("a tensor is rebuilt from a ") + type_name(storage) + " instead of a storage");
    if (offset.type != Value::Type::integer || offset.integer < 0)
        fail("a tensor's storage offset must be a non-negative integer");
    const auto sizes = int_tuple(size, "size");
    const auto strides = int_tuple(stride, "stride");
    if (sizes.size() != strides.size())
        fail("a tensor has size " + detail::shape_string(sizes) + " but stride " + detail::shape_string(strides));
    // The last element it reaches must lie inside the storage: no read past its end.
    std::int64_t numel = 1, last = offset.integer;
    bool overflow = false;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        std::int64_t reach = 0;
        overflow |= __builtin_mul_overflow(sizes[i], numel, &numel);
        if (sizes[i] > 0) overflow |= __builtin_mul_overflow(sizes[i] - 1, strides[i], &reach);
        overflow |= __builtin_add_overflow(last, reach, &last);
    }
    if (overflow) fail("a tensor of size " + detail::shape_string(sizes) + " is too large to address");
    if (numel > 0 && last >= storage.storage_numel)
        fail("a tensor of size " + detail::shape_string(sizes) + ", stride " + detail::shape_string(strides) +
             " and offset " + std::to_string(offset.integer) + " reaches element " + std::to_string(last) +
             " of a storage that holds " + std::to_string(storage.storage_numel));
    auto v = Value::make(Value::Type::tensor);
    v->tensor = at::empty({0}, at::TensorOptions().dtype(storage.scalar))
                    .set_(storage.storage, storage.storage_offset + offset.integer, sizes, strides);
    return v;
}

ValuePtr Unpickler::call(const Value& callable, const Value& args) {
    if (callable.type != Value::Type::global) fail(std::string("the pickle calls a ") + type_name(callable));
    if (args.type != Value::Type::tuple) fail("the pickle calls " + callable.text + " without an argument tuple");
    const auto& a = args.items;
    auto arity = [&](std::size_t low, std::size_t high) {
        if (a.size() < low || a.size() > high)
            fail(callable.text + " is called with " + std::to_string(a.size()) + " arguments; it takes " +
                 std::to_string(low) + (high > low ? " to " + std::to_string(high) : ""));
    };
    switch (callable.global) {
    case Global::ordered_dict: {
        arity(0, 1);
        auto dict = Value::make(Value::Type::dict);
        if (a.size() == 1) {
            if (a[0]->type != Value::Type::list) fail("OrderedDict is called with a " + std::string(type_name(*a[0])));
            for (const auto& pair : a[0]->items) {
                if ((pair->type != Value::Type::tuple && pair->type != Value::Type::list) || pair->items.size() != 2)
                    fail("OrderedDict is called with an item that is not a (key, value) pair");
                dict->set_item(pair->items[0], pair->items[1]);
            }
        }
        return dict;
    }
    case Global::rebuild_tensor:
        arity(4, 4);
        return rebuild_tensor(*a[0], *a[1], *a[2], *a[3]);
    case Global::rebuild_tensor_v2:
        // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
        arity(6, 7);
        return rebuild_tensor(*a[0], *a[1], *a[2], *a[3]);
    case Global::rebuild_parameter:
    case Global::rebuild_parameter_with_state:
        // (data, requires_grad, backward_hooks[, state]): a Parameter is its data here.
        arity(callable.global == Global::rebuild_parameter ? 3 : 4, callable.global == Global::rebuild_parameter ? 3 : 4);
        if (a[0]->type != Value::Type::tensor) fail(callable.text + " is called with a " + type_name(*a[0]));
        return a[0];
    case Global::rebuild_from_type_v2: {
        // (func, type, args, state): a tensor subclass; only Tensor and Parameter are known.
        arity(4, 4);
        if (a[1]->type != Value::Type::global || a[1]->global != Global::tensor_type)
            fail("_rebuild_from_type_v2 is asked for a tensor subclass other than Tensor or Parameter");
        return call(*a[0], *a[2]);
    }
    case Global::codecs_encode: {
        arity(1, 2);
        if (a[0]->type != Value::Type::string) fail("_codecs.encode is called with a " + std::string(type_name(*a[0])));
        // Python 3 writes bytes as encode(text, 'latin1'); each character is one byte.
        auto bytes = Value::make(Value::Type::bytes);
        const auto& s = a[0]->text;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x80) bytes->text += static_cast<char>(c);
            else if ((c & 0xfe) == 0xc2 && i + 1 < s.size()) bytes->text += static_cast<char>(((c & 0x03) << 6) | (s[++i] & 0x3f));
            else fail("_codecs.encode holds a character outside latin-1");
        }
        return bytes;
    }
    case Global::torch_size:
        arity(1, 1);
        int_tuple(*a[0], "size");
        return a[0];
    case Global::torch_device: {
        arity(1, 2);
        auto device = Value::make(Value::Type::string);
        device->text = a[0]->text;
        return device;
    }
    case Global::tensor_type:
    case Global::storage_type:
    case Global::dtype: break;
    }
    fail("the pickle calls " + callable.text + ", which is not a function a state dict calls");
}

ValuePtr Unpickler::load() {
    // Opcodes of pickle protocols 0 to 4 that a state dict can use.
    enum : unsigned char {
        MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BINFLOAT = 'G', INT = 'I', BININT = 'J',
        BININT1 = 'K', BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T',
        SHORT_BINSTRING = 'U', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd',
        EMPTY_DICT = '}', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']',
        BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u',
        PROTO = 0x80, NEWOBJ = 0x81, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89,
        LONG1 = 0x8a, LONG4 = 0x8b, BINBYTES = 'B', SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c,
        BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
    };
    constexpr unsigned kHighestProtocol = 5;
    for (;;) {
        op_pos_ = pos_;
        const unsigned char op = *take(1);
        switch (op) {
        case PROTO:
            if (*take(1) > kHighestProtocol) fail("pickle protocol above 5");
            break;
        case FRAME: take(8); break; // a framing hint only
        case STOP: {
            auto result = pop();
            if (!stack_.empty() || !marks_.empty()) fail("the pickle stops with values left on its stack");
            return result;
        }
        case MARK: marks_.push_back(stack_.size()); break;
        case POP: pop(); break;
        case POP_MARK: pop_mark(); break;
        case DUP: stack_.push_back(top()); break;
        case NONE: stack_.push_back(Value::make(Value::Type::none)); break;
        case NEWTRUE:
        case NEWFALSE: {
            auto v = Value::make(Value::Type::boolean);
            v->boolean = op == NEWTRUE;
            stack_.push_back(std::move(v));
            break;
        }
        case INT: {
            // Protocol 0 text: "01"/"00" are True/False.
            const auto line = read_line();
            if (line == "01" || line == "00") {
                auto v = Value::make(Value::Type::boolean);
                v->boolean = line == "01";
                stack_.push_back(std::move(v));
            } else {
                try {
                    std::size_t used = 0;
                    push_integer(std::stoll(line, &used));
                    if (used != line.size()) throw std::invalid_argument(line);
                } catch (const std::exception&) {
                    fail("INT holds '" + line + "', which is not an integer");
                }
            }
            break;
        }
        case BININT: push_integer(static_cast<std::int32_t>(read_le(4))); break;
        case BININT1: push_integer(static_cast<std::int64_t>(read_le(1))); break;
        case BININT2: push_integer(static_cast<std::int64_t>(read_le(2))); break;
        case LONG1: push_long(read_le(1)); break;
        case LONG4: push_long(read_le(4)); break;
        case BINFLOAT: {
            const auto* p = take(8);
            std::uint64_t bits = 0;
            for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i]; // big-endian
            auto v = Value::make(Value::Type::real);
            std::memcpy(&v->real, &bits, sizeof bits);
            stack_.push_back(std::move(v));
            break;
        }
        case BINUNICODE: push_string(Value::Type::string, read_le(4)); break;
        case SHORT_BINUNICODE: push_string(Value::Type::string, read_le(1)); break;
        case BINUNICODE8: push_string(Value::Type::string, read_le(8)); break;
        // Python 2's str: text in every checkpoint that has it.
        case BINSTRING: push_string(Value::Type::string, read_le(4)); break;
        case SHORT_BINSTRING: push_string(Value::Type::string, read_le(1)); break;
        case BINBYTES: push_string(Value::Type::bytes, read_le(4)); break;
        case SHORT_BINBYTES: push_string(Value::Type::bytes, read_le(1)); break;
        case BINBYTES8: push_string(Value::Type::bytes, read_le(8)); break;
        case EMPTY_TUPLE: push_tuple({}); break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
            const std::size_t n = op - TUPLE1 + 1;
            std::vector<ValuePtr> items(n);
            for (std::size_t i = n; i-- > 0;) items[i] = pop();
            push_tuple(std::move(items));
            break;
        }
        case TUPLE: push_tuple(pop_mark()); break;
        case EMPTY_LIST: stack_.push_back(Value::make(Value::Type::list)); break;
        case LIST: {
            auto v = Value::make(Value::Type::list);
            v->items = pop_mark();
            stack_.push_back(std::move(v));
            break;
        }
        case APPEND: {
            auto item = pop();
            auto& list = top();
            if (list->type != Value::Type::list) fail(std::string("APPEND to a ") + type_name(*list));
            list->items.push_back(std::move(item));
            break;
        }
        case APPENDS: {
            auto items = pop_mark();
            auto& list = top();
            if (list->type != Value::Type::list) fail(std::string("APPENDS to a ") + type_name(*list));
            for (auto& item : items) list->items.push_back(std::move(item));
            break;
        }
        case EMPTY_DICT: stack_.push_back(Value::make(Value::Type::dict)); break;
        case DICT:
        case SETITEMS: {
            auto items = pop_mark();
            if (items.size() % 2) fail("a dict is given a key without a value");
            ValuePtr dict = op == DICT ? Value::make(Value::Type::dict) : top();
            if (dict->type != Value::Type::dict) fail(std::string("SETITEMS on a ") + type_name(*dict));
            for (std::size_t i = 0; i < items.size(); i += 2) dict->set_item(items[i], items[i + 1]);
            if (op == DICT) stack_.push_back(std::move(dict));
            break;
        }
        case SETITEM: {
            auto value = pop();
            auto key = pop();
            auto& dict = top();
            if (dict->type != Value::Type::dict) fail(std::string("SETITEM on a ") + type_name(*dict));
            dict->set_item(std::move(key), std::move(value));
            break;
        }
        case GLOBAL: {
            const auto module = read_line();
            const auto name = read_line();
            stack_.push_back(global(module, name));
            break;
        }
        case STACK_GLOBAL: {
            auto name = pop();
            auto module = pop();
            if (module->type != Value::Type::string || name->type != Value::Type::string)
                fail("STACK_GLOBAL needs two strings");
            stack_.push_back(global(module->text, name->text));
            break;
        }
        case REDUCE:
        case NEWOBJ: {
            auto args = pop();
            auto callable = pop();
            stack_.push_back(call(*callable, *args));
            break;
        }
        case BUILD: {
            auto state = pop();
            const auto& target = top();
            // OrderedDict's state is its _metadata (module versions); a tensor's is empty.
            const bool dict_state = target->type == Value::Type::dict &&
                                    (state->type == Value::Type::dict || state->type == Value::Type::none);
            const bool tensor_state = target->type == Value::Type::tensor;
            if (!dict_state && !tensor_state)
                fail(std::string("BUILD sets the state of a ") + type_name(*target) + ", which a state dict never does");
            break;
        }
        case BINPERSID: {
            auto pid = pop();
            if (!persistent_load_) fail("this pickle may not refer to storages");
            stack_.push_back(persistent_load_(*pid));
            break;
        }
        case BINPUT: memo_put(read_le(1)); break;
        case LONG_BINPUT: memo_put(read_le(4)); break;
        case MEMOIZE: memo_put(memo_.size()); break;
        case BINGET: stack_.push_back(memo_get(read_le(1))); break;
        case LONG_BINGET: stack_.push_back(memo_get(read_le(4))); break;
        default: {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", op);
            fail(std::string("pickle opcode ") + hex + " is not one a state dict uses (the file is damaged, or not weights)");
        }
        }
    }
}

std::string conversion_hint(const fs::path& file) {
    return "convert it with: python -c \"import torch; from safetensors.torch import save_file; "
           "sd = torch.load('" + file.string() + "', map_location='cpu', weights_only=True); "
           "save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')\"";
}

bool is_tensor_dict(const Value& v) {
    if (v.type != Value::Type::dict) return false;
    for (const auto& [key, value] : v.entries)
        if (key->type != Value::Type::string || value->type != Value::Type::tensor) return false;
    return true;
}

StateDict tensors_of(const Value& dict) {
    StateDict out;
    for (const auto& [key, value] : dict.entries) out.emplace(key->text, value->tensor);
    return out;
}

// The state dict in what torch.save wrote: the dict itself when every value is a tensor,
// else the one value that is such a dict ({"state_dict": ..., "epoch": 3}).
StateDict state_dict_of(const fs::path& file, const Value& root) {
    if (is_tensor_dict(root)) return tensors_of(root);
    if (root.type != Value::Type::dict)
        throw CheckpointError(file.string() + ": holds a " + type_name(root) + ", not a state dict (a dict of tensors); " +
                              conversion_hint(file));
    std::vector<const Value*> candidates;
    std::string contents;
    for (const auto& [key, value] : root.entries) {
        if (is_tensor_dict(*value) && !value->entries.empty()) candidates.push_back(value.get());
        contents += (contents.empty() ? "" : ", ") +
                    (key->type == Value::Type::string ? "'" + key->text + "'" : std::string("a ") + type_name(*key)) +
                    ": " + (value->type == Value::Type::dict && is_tensor_dict(*value)
                                ? "dict of " + std::to_string(value->entries.size()) + " tensors"
                                : std::string(type_name(*value)));
    }
    if (candidates.size() == 1) return tensors_of(*candidates.front());
    throw CheckpointError(file.string() + ": holds a dict that is not a state dict ({" + contents +
                          "}); a state dict maps names to tensors, or is the only such dict inside the saved dict");
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A persistent id ('storage', storage_type, key, location, numel[, view_metadata]) split up.
struct StorageId {
    c10::ScalarType type;
    std::string key;
    std::int64_t numel;
    const Value* view = nullptr; // legacy only: (view_key, offset, view_size) or None
};

StorageId parse_storage_id(const Unpickler& unpickler, const Value& pid, std::size_t max_fields) {
    const auto& f = pid.items;
    if (pid.type != Value::Type::tuple || f.size() < 5 || f.size() > max_fields || f[0]->type != Value::Type::string ||
        f[0]->text != "storage")
        unpickler.fail("a persistent id must be ('storage', type, key, location, size), found a " +
                       std::string(type_name(pid)) + " of " + std::to_string(f.size()));
    if (f[1]->type != Value::Type::global || (f[1]->global != Global::storage_type && f[1]->global != Global::dtype))
        unpickler.fail("a persistent id names no storage type");
    if (f[2]->type != Value::Type::string) unpickler.fail("a persistent id's key must be a string");
    if (f[4]->type != Value::Type::integer || f[4]->integer < 0)
        unpickler.fail("a persistent id's size must be a non-negative integer");
    StorageId id{f[1]->scalar, f[2]->text, f[4]->integer};
    if (f.size() == 6 && f[5]->type != Value::Type::none) id.view = f[5].get();
    return id;
}

ValuePtr storage_value(const at::Storage& storage, c10::ScalarType type, std::int64_t offset, std::int64_t numel) {
    auto v = Value::make(Value::Type::storage);
    v->storage = storage;
    v->scalar = type;
    v->storage_offset = offset;
    v->storage_numel = numel;
    return v;
}

// The magic number a legacy torch.save starts with: 0x1950a86a20f9469cfc6c as LONG1 bytes.
constexpr unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr std::int64_t kLegacyProtocol = 1001;

// LibTorch's zip reader allocates a record's whole size, as the archive's central directory
// states it, before it reads a byte: a few hundred bytes that claim 4 GB for a record made it
// ask for 4 GB (found by tests/fuzz). torch.save stores records uncompressed, and deflate
// expands at most 1032-fold, so a record that claims more than that of the file's size is
// refused here first. What this walk cannot follow (no end record, zip64) is left to miniz.
void check_record_sizes(const fs::path& file) {
    const auto map = detail::MappedFile::open(file);
    const unsigned char* d = map->data();
    const std::size_t n = map->size();
    const auto u16 = [&](std::size_t at) { return std::uint32_t(d[at]) | std::uint32_t(d[at + 1]) << 8; };
    const auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
    constexpr std::size_t kEndRecord = 22, kDirectoryEntry = 46, kMaxComment = 0xFFFF;
    constexpr std::uint32_t kEndSignature = 0x06054b50, kEntrySignature = 0x02014b50, kZip64 = 0xFFFFFFFF;
    if (n < kEndRecord) return;
    std::size_t end = n;
    for (std::size_t at = n - kEndRecord + 1; at-- > 0 && n - at <= kEndRecord + kMaxComment;)
        if (u32(at) == kEndSignature) {
            end = at;
            break;
        }
    if (end == n) return;
    const std::size_t entries = u16(end + 10);
    std::size_t at = u32(end + 16);
    for (std::size_t i = 0; i < entries; ++i) {
        if (n < kDirectoryEntry || at > n - kDirectoryEntry || u32(at) != kEntrySignature) return;
        const std::uint32_t method = u16(at + 10), claimed = u32(at + 24);
        const std::size_t name_length = u16(at + 28);
        const std::uint64_t limit = method == 0 ? n : std::uint64_t{n} * 1032;
        if (claimed != kZip64 && claimed > limit) {
            const std::string name(reinterpret_cast<const char*>(d + at + kDirectoryEntry),
                                   std::min(name_length, n - at - kDirectoryEntry));
            throw CheckpointError(file.string() + ": zip record '" + name + "' claims " + std::to_string(claimed) +
                                  " bytes, more than a file of " + std::to_string(n) +
                                  " bytes can hold; the archive is damaged (a torch.save zip stores records as they are)");
        }
        at += kDirectoryEntry + name_length + u16(at + 30) + u16(at + 32);
    }
}

} // namespace

StateDict read_torch_zip(const std::filesystem::path& file) {
    check_record_sizes(file);
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
    try {
        reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(file.string());
    } catch (const c10::Error& e) {
        throw CheckpointError(file.string() + ": not a readable torch.save zip archive: " +
                              first_line(e.what_without_backtrace()));
    }
    if (reader->hasRecord("constants.pkl") || reader->hasRecord("code/__torch__.py"))
        throw CheckpointError(file.string() + ": a TorchScript archive (torch.jit.save), not a torch.save state dict; "
                              "convert it with: python -c \"import torch; from safetensors.torch import save_file; "
                              "m = torch.jit.load('" + file.string() + "', map_location='cpu'); "
                              "save_file({k: v.contiguous() for k, v in m.state_dict().items()}, 'model.safetensors')\"");
    if (!reader->hasRecord("data.pkl"))
        throw CheckpointError(file.string() + ": a zip archive without data.pkl, so not a torch.save file; " +
                              conversion_hint(file));
    try {
        if (reader->hasRecord("byteorder")) {
            auto [bytes, size] = reader->getRecord("byteorder");
            const std::string order(static_cast<const char*>(bytes.get()), size);
            if (order != "little")
                throw CheckpointError(file.string() + ": saved with byte order '" + order + "'; only little-endian files are read");
        }
        auto [pickle, pickle_size] = reader->getRecord("data.pkl");
        std::map<std::string, std::pair<at::Storage, std::int64_t>> storages; // key -> storage, bytes
        const std::string where = file.string() + " (data.pkl)";
        Unpickler* self = nullptr;
        Unpickler unpickler(where, static_cast<const unsigned char*>(pickle.get()), pickle_size, 0,
                            [&](const Value& pid) {
                                const auto id = parse_storage_id(*self, pid, 5);
                                auto found = storages.find(id.key);
                                if (found == storages.end()) {
                                    const auto record = "data/" + id.key;
                                    if (!reader->hasRecord(record))
                                        self->fail("tensor data '" + record + "' is not in the archive");
                                    auto [data, size] = reader->getRecord(record);
                                    at::Storage storage(at::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
                                    found = storages.emplace(id.key, std::make_pair(storage, static_cast<std::int64_t>(size))).first;
                                }
                                const auto element = static_cast<std::int64_t>(c10::elementSize(id.type));
                                const auto bytes = found->second.second;
                                if (id.numel > bytes / element)
                                    self->fail("storage '" + id.key + "' should hold " + std::to_string(id.numel) + " " +
                                               detail::dtype_name(id.type) + " elements but data/" + id.key + " has " +
                                               std::to_string(bytes) + " bytes");
                                return storage_value(found->second.first, id.type, 0, id.numel);
                            });
        self = &unpickler;
        return state_dict_of(file, *unpickler.load());
    } catch (const c10::Error& e) {
        throw CheckpointError(file.string() + ": cannot read the zip archive: " + first_line(e.what_without_backtrace()));
    }
}

StateDict read_torch_legacy(const std::filesystem::path& file) {
    const auto map = detail::MappedFile::open(file);
    const std::string name = file.string();
    const unsigned char* data = map->data();
    const std::size_t size = map->size();

    Unpickler magic(name + " (magic number)", data, size, 0, nullptr);
    const auto number = magic.load();
    if (number->type != Value::Type::big_integer || number->text.size() != sizeof kLegacyMagic ||
        std::memcmp(number->text.data(), kLegacyMagic, sizeof kLegacyMagic) != 0)
        throw CheckpointError(name + ": starts with a pickle but not with torch.save's magic number, so it is not a "
                              "torch.save file; accepted: safetensors, a torch.save zip or a legacy torch.save file; " +
                              conversion_hint(file));
    Unpickler protocol(name + " (protocol version)", data, size, magic.position(), nullptr);
    const auto version = protocol.load();
    if (version->type != Value::Type::integer || version->integer != kLegacyProtocol)
        throw CheckpointError(name + ": legacy torch.save protocol version is not 1001; the file is damaged or from an "
                              "unknown PyTorch");
    Unpickler sys_info(name + " (sys_info)", data, size, protocol.position(), nullptr);
    const auto info = sys_info.load();
    if (info->type == Value::Type::dict) {
        const auto it = info->by_key.find("little_endian");
        if (it != info->by_key.end() && info->entries[it->second].second->type == Value::Type::boolean &&
            !info->entries[it->second].second->boolean)
            throw CheckpointError(name + ": saved on a big-endian machine; only little-endian files are read");
    }

    // Storages are announced by the main pickle and filled from the stream after it.
    struct Pending {
        at::Storage storage;
        c10::ScalarType type;
        std::int64_t numel;
    };
    std::map<std::string, Pending> storages;
    std::map<std::string, ValuePtr> views;
    Unpickler* self = nullptr;
    Unpickler body(name + " (main pickle)", data, size, sys_info.position(), [&](const Value& pid) -> ValuePtr {
        const auto id = parse_storage_id(*self, pid, 6);
        auto found = storages.find(id.key);
        if (found == storages.end()) {
            const auto element = static_cast<std::int64_t>(c10::elementSize(id.type));
            // A storage cannot be larger than the rest of the file, which holds its bytes.
            if (id.numel > static_cast<std::int64_t>(size / element))
                self->fail("storage '" + id.key + "' claims " + std::to_string(id.numel) + " elements, more than the file holds");
            at::Storage storage(at::Storage::use_byte_size_t(), id.numel * element, c10::GetDefaultCPUAllocator(), false);
            found = storages.emplace(id.key, Pending{storage, id.type, id.numel}).first;
        } else if (found->second.type != id.type || found->second.numel != id.numel) {
            self->fail("storage '" + id.key + "' is announced twice with different types or sizes");
        }
        if (!id.view) return storage_value(found->second.storage, id.type, 0, id.numel);
        // (view_key, offset, view_size): a slice of the root storage, pre-1.0 style.
        const auto& v = id.view->items;
        if (id.view->type != Value::Type::tuple || v.size() != 3 || v[0]->type != Value::Type::string ||
            v[1]->type != Value::Type::integer || v[2]->type != Value::Type::integer || v[1]->integer < 0 ||
            v[2]->integer < 0 || v[1]->integer > id.numel || v[2]->integer > id.numel - v[1]->integer)
            self->fail("storage '" + id.key + "' has a view that is not (key, offset, size) inside it");
        auto& view = views[v[0]->text];
        if (!view) view = storage_value(found->second.storage, id.type, v[1]->integer, v[2]->integer);
        return view;
    });
    self = &body;
    const auto root = body.load();

    Unpickler keys_pickle(name + " (storage keys)", data, size, body.position(), nullptr);
    const auto keys = keys_pickle.load();
    if (keys->type != Value::Type::list)
        throw CheckpointError(name + ": the list of storage keys after the main pickle is a " + type_name(*keys));
    std::size_t pos = keys_pickle.position();
    constexpr std::size_t kCountBytes = 8; // each storage's element count, little-endian
    for (const auto& key : keys->items) {
        if (key->type != Value::Type::string) throw CheckpointError(name + ": a storage key is not a string");
        const auto found = storages.find(key->text);
        if (found == storages.end())
            throw CheckpointError(name + ": storage '" + key->text + "' has data but no tensor refers to it");
        auto& pending = found->second;
        if (size - pos < kCountBytes)
            throw CheckpointError(name + ": ends before the data of storage '" + key->text + "'; the file is truncated");
        std::uint64_t count = 0;
        for (std::size_t i = kCountBytes; i-- > 0;) count = (count << 8) | data[pos + i];
        pos += kCountBytes;
        if (count != static_cast<std::uint64_t>(pending.numel))
            throw CheckpointError(name + ": storage '" + key->text + "' has " + std::to_string(count) +
                                  " elements in the data but " + std::to_string(pending.numel) + " in the pickle");
        const auto bytes = pending.storage.nbytes();
        if (size - pos < bytes)
            throw CheckpointError(name + ": ends inside the data of storage '" + key->text + "'; the file is truncated");
        // An empty storage has no buffer, and memcpy must not see a null pointer.
        if (bytes) std::memcpy(pending.storage.data_ptr().get(), data + pos, bytes);
        pos += bytes;
        storages.erase(found);
    }
    if (!storages.empty())
        throw CheckpointError(name + ": storage '" + storages.begin()->first + "' is used by a tensor but has no data");
    return state_dict_of(file, *root);
}

} // namespace msa::models
