#include "model/torch_pickle.h"

#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>

#include "core/error.h"

namespace bertrain {

namespace {

// The callables and classes a state dict may name. Nothing else resolves.
enum class Global { OrderedDict, RebuildTensor, Storage };

struct Value {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Callable, Storage, Tensor, Mark };
  Kind kind = None;
  int64_t i = 0;  // Bool, Int; Storage: numel
  double f = 0;
  std::string s;               // Str; Storage: key
  std::vector<Value*> items;   // Tuple, List; Dict: key, value, key, value, ...
  Global global{};             // Callable
  DType dtype{};               // Callable (a storage type), Storage
  TorchTensorRecord tensor{};  // Tensor (name unset)
};

const char* kind_name(Value::Kind k) {
  static const char* names[] = {"None", "bool", "int",      "float",   "str",    "tuple",
                                "list", "dict", "callable", "storage", "tensor", "mark"};
  return names[k];
}

// torch.<Name>Storage -> element type; the storages torch.save writes for float and index
// tensors.
bool storage_dtype(const std::string& name, DType* out) {
  static const std::pair<const char*, DType> types[] = {
      {"FloatStorage", DType::F32},     {"DoubleStorage", DType::F64}, {"HalfStorage", DType::F16},
      {"BFloat16Storage", DType::BF16}, {"LongStorage", DType::I64},   {"IntStorage", DType::I32},
      {"ByteStorage", DType::U8}};
  for (const auto& [n, t] : types)
    if (name == n) {
      *out = t;
      return true;
    }
  return false;
}

class Unpickler {
 public:
  Unpickler(std::span<const unsigned char> data, const std::string& source)
      : data_(data), source_(source) {}

  Value* run() {
    while (true) {
      const size_t at = pos_;
      const unsigned char op = byte();
      if (op == '.') break;  // STOP
      step(op, at);
    }
    if (stack_.size() != 1) bad("the pickle ends with ", stack_.size(), " values on its stack");
    return stack_.back();
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(Parts&&... parts) const {
    fail(source_, ": data.pkl: ", std::forward<Parts>(parts)...,
         " (bertrain reads state dicts written by torch.save only; nothing was executed)");
  }

  unsigned char byte() {
    if (pos_ >= data_.size()) bad("truncated at byte ", pos_);
    return data_[pos_++];
  }
  std::span<const unsigned char> take(uint64_t n) {
    if (n > data_.size() - pos_) bad("truncated at byte ", pos_, " (", n, " bytes wanted)");
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t le(int n) {
    uint64_t v = 0;
    auto b = take(n);
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | b[k];
    return v;
  }
  std::string line() {
    std::string s;
    for (unsigned char c; (c = byte()) != '\n';) {
      if (s.size() > 256) bad("a GLOBAL name longer than 256 bytes at byte ", pos_);
      s.push_back(static_cast<char>(c));
    }
    return s;
  }

  Value* make(Value::Kind k) {
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = k;
    return arena_.back().get();
  }
  Value* make_int(int64_t i, Value::Kind k = Value::Int) {
    Value* v = make(k);
    v->i = i;
    return v;
  }
  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.empty() || stack_.back()->kind == Value::Mark) bad("stack underflow at byte ", pos_);
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.empty() || stack_.back()->kind == Value::Mark) bad("stack underflow at byte ", pos_);
    return stack_.back();
  }
  // The values above the topmost MARK, which is removed.
  std::vector<Value*> pop_mark() {
    size_t m = stack_.size();
    while (m > 0 && stack_[m - 1]->kind != Value::Mark) --m;
    if (m == 0) bad("no MARK on the stack at byte ", pos_);
    std::vector<Value*> out(stack_.begin() + m, stack_.end());
    stack_.resize(m - 1);
    return out;
  }
  Value* tuple(std::vector<Value*> items) {
    Value* t = make(Value::Tuple);
    t->items = std::move(items);
    return t;
  }
  void memo_put(uint64_t key) {
    if (memo_.size() >= kMaxMemo && !memo_.count(key)) bad("more than ", kMaxMemo, " memo entries");
    memo_[key] = top();
  }
  Value* memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) bad("memo entry ", key, " read before it was written");
    return it->second;
  }

  Value* resolve_global(const std::string& module, const std::string& name) {
    Value* v = make(Value::Callable);
    if (module == "collections" && name == "OrderedDict") {
      v->global = Global::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      v->global = Global::RebuildTensor;
    } else if (module == "torch" && storage_dtype(name, &v->dtype)) {
      v->global = Global::Storage;
    } else {
      bad("global ", module, ".", name,
          " is not allowed (only collections.OrderedDict, torch._utils._rebuild_tensor_v2 and "
          "torch.*Storage)");
    }
    return v;
  }

  void add_to_container(Value* container, const std::vector<Value*>& items, bool pairs) {
    Value::Kind want = pairs ? Value::Dict : Value::List;
    if (container->kind != want)
      bad(pairs ? "SETITEM(S)" : "APPEND(S)", " on a ", kind_name(container->kind));
    if (pairs && items.size() % 2) bad("SETITEMS with an odd number of values");
    container->items.insert(container->items.end(), items.begin(), items.end());
  }

  Value* persistent_load(Value* pid) {
    const auto& t = pid->items;
    if (pid->kind != Value::Tuple || t.size() != 5 || t[0]->kind != Value::Str ||
        t[0]->s != "storage" || t[1]->kind != Value::Callable || t[1]->global != Global::Storage ||
        t[2]->kind != Value::Str || t[3]->kind != Value::Str || t[4]->kind != Value::Int ||
        t[4]->i < 0)
      bad("a persistent id that is not ('storage', torch.<Type>Storage, key, location, numel)");
    Value* s = make(Value::Storage);
    s->dtype = t[1]->dtype;
    s->s = t[2]->s;
    s->i = t[4]->i;
    return s;
  }

  std::vector<int64_t> ints(const Value* v, const char* what) {
    if (v->kind != Value::Tuple) bad("_rebuild_tensor_v2: ", what, " is a ", kind_name(v->kind));
    std::vector<int64_t> out;
    for (const Value* e : v->items) {
      if (e->kind != Value::Int || e->i < 0)
        bad("_rebuild_tensor_v2: ", what, " holds a ", kind_name(e->kind), " or a negative value");
      out.push_back(e->i);
    }
    return out;
  }

  Value* reduce(Value* callable, Value* args) {
    if (callable->kind != Value::Callable || args->kind != Value::Tuple)
      bad("REDUCE on a ", kind_name(callable->kind), " is not allowed");
    const auto& a = args->items;
    if (callable->global == Global::OrderedDict) {
      if (!a.empty()) bad("collections.OrderedDict called with arguments");
      return make(Value::Dict);
    }
    if (callable->global != Global::RebuildTensor)
      bad("a storage type called directly is not allowed");
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (a.size() != 6 && a.size() != 7) bad("_rebuild_tensor_v2 with ", a.size(), " arguments");
    if (a[0]->kind != Value::Storage || a[1]->kind != Value::Int || a[1]->i < 0)
      bad("_rebuild_tensor_v2: the first arguments are not a storage and an offset");
    if (a[5]->kind != Value::Dict || !a[5]->items.empty())
      bad("_rebuild_tensor_v2: tensors with backward hooks are not supported");
    if (a.size() == 7 && a[6]->kind != Value::None &&
        !(a[6]->kind == Value::Dict && a[6]->items.empty()))
      bad("_rebuild_tensor_v2: tensor metadata is not supported");
    Value* t = make(Value::Tensor);
    t->tensor.dtype = a[0]->dtype;
    t->tensor.storage_key = a[0]->s;
    t->tensor.storage_numel = a[0]->i;
    t->tensor.offset = a[1]->i;
    t->tensor.shape = ints(a[2], "size");
    t->tensor.stride = ints(a[3], "stride");
    if (t->tensor.shape.size() != t->tensor.stride.size())
      bad("_rebuild_tensor_v2: size and stride differ in length");
    return t;
  }

  void step(unsigned char op, size_t at) {
    switch (op) {
      case 0x80:
        byte();
        break;  // PROTO
      case 0x95:
        take(8);
        break;  // FRAME
      case '(':
        push(make(Value::Mark));
        break;
      case 'N':
        push(make(Value::None));
        break;
      case 0x88:
        push(make_int(1, Value::Bool));
        break;  // NEWTRUE
      case 0x89:
        push(make_int(0, Value::Bool));
        break;  // NEWFALSE
      case 'K':
        push(make_int(byte()));
        break;  // BININT1
      case 'M':
        push(make_int(static_cast<int64_t>(le(2))));
        break;  // BININT2
      case 'J':
        push(make_int(static_cast<int32_t>(le(4))));
        break;      // BININT
      case 0x8a: {  // LONG1
        const int n = byte();
        if (n > 8) bad("an integer of ", n, " bytes at byte ", at);
        uint64_t v = n ? le(n) : 0;
        if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign
        push(make_int(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        uint64_t bits = 0;
        for (unsigned char b : take(8)) bits = (bits << 8) | b;
        Value* v = make(Value::Float);
        std::memcpy(&v->f, &bits, 8);
        push(v);
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c: {  // SHORT_BINUNICODE
        auto b = take(op == 'X' ? le(4) : byte());
        Value* v = make(Value::Str);
        v->s.assign(b.begin(), b.end());
        push(v);
        break;
      }
      case ')':
        push(tuple({}));
        break;
      case 0x85:
        push(tuple({pop()}));
        break;      // TUPLE1
      case 0x86: {  // TUPLE2
        Value* b = pop();
        Value* a = pop();
        push(tuple({a, b}));
        break;
      }
      case 0x87: {  // TUPLE3
        Value* c = pop();
        Value* b = pop();
        Value* a = pop();
        push(tuple({a, b, c}));
        break;
      }
      case 't':
        push(tuple(pop_mark()));
        break;
      case ']':
        push(make(Value::List));
        break;
      case '}':
        push(make(Value::Dict));
        break;
      case 'a': {  // APPEND
        Value* v = pop();
        add_to_container(top(), {v}, false);
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_mark();
        add_to_container(top(), items, false);
        break;
      }
      case 's': {  // SETITEM
        Value* v = pop();
        Value* k = pop();
        add_to_container(top(), {k, v}, true);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        add_to_container(top(), items, true);
        break;
      }
      case 'q':
        memo_put(byte());
        break;  // BINPUT
      case 'r':
        memo_put(le(4));
        break;  // LONG_BINPUT
      case 0x94:
        memo_put(memo_.size());
        break;  // MEMOIZE
      case 'h':
        push(memo_get(byte()));
        break;  // BINGET
      case 'j':
        push(memo_get(le(4)));
        break;     // LONG_BINGET
      case 'c': {  // GLOBAL
        std::string module = line();
        push(resolve_global(module, line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Value* name = pop();
        Value* module = pop();
        if (module->kind != Value::Str || name->kind != Value::Str)
          bad("STACK_GLOBAL on non-strings at byte ", at);
        push(resolve_global(module->s, name->s));
        break;
      }
      case 'Q':
        push(persistent_load(pop()));
        break;     // BINPERSID
      case 'R': {  // REDUCE
        Value* args = pop();
        Value* callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 'b': {  // BUILD: only the OrderedDict's attributes (torch's _metadata), ignored
        Value* state = pop();
        if (top()->kind != Value::Dict || state->kind != Value::Dict)
          bad("BUILD on a ", kind_name(top()->kind), " is not allowed");
        break;
      }
      default:
        bad("opcode 0x", std::hex, static_cast<int>(op), std::dec, " at byte ", at,
            " is not part of a torch.save state dict");
    }
    if (stack_.size() > kMaxStack) bad("more than ", kMaxStack, " values on the stack");
  }

  static constexpr size_t kMaxMemo = 1 << 22, kMaxStack = 1 << 22;
  std::span<const unsigned char> data_;
  const std::string& source_;
  size_t pos_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;  // owns every value, so cycles cannot leak
  std::vector<Value*> stack_;
  std::unordered_map<uint64_t, Value*> memo_;
};

}  // namespace

std::vector<TorchTensorRecord> read_torch_state_dict(std::span<const unsigned char> pickle,
                                                     const std::string& source) {
  Unpickler u(pickle, source);
  const Value* root = u.run();
  if (root->kind != Value::Dict)
    fail(source, ": data.pkl holds a ", kind_name(root->kind), ", not a state dict");
  std::vector<TorchTensorRecord> out;
  for (size_t k = 0; k + 1 < root->items.size(); k += 2) {
    const Value* key = root->items[k];
    const Value* value = root->items[k + 1];
    if (key->kind != Value::Str) fail(source, ": a state dict key is a ", kind_name(key->kind));
    if (value->kind != Value::Tensor)
      fail(source, ": state dict entry \"", key->s, "\" is a ", kind_name(value->kind),
           ", not a tensor");
    out.push_back(value->tensor);
    out.back().name = key->s;
  }
  return out;
}

}  // namespace bertrain
