// The codec: JSON text <-> Cap'n Proto bytes through capnp::JsonCodec (field names and enum
// spellings from $Json.name), with payload_validation.cc checking and splitting the input first
// so every rejection gets a precise error code instead of a JsonCodec exception message.
// Cap'n Proto reports malformed input by throwing kj::Exception; this file is the boundary where
// those become result errors.
#include "events/event_codec.h"

#include <capnp/any.h>
#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "events/payload_io.h"
#include "events/payload_validation.h"
#include "events/text_formats.h"

namespace kakehashi {
namespace {

using capnp::json::Value;

constexpr std::size_t max_json_nesting = 16;  // payloads nest 3 deep; anything deeper is hostile
constexpr const char* erased_marker = "[erased]";

// One JsonCodec knowing every registered schema's annotations. handleByAnnotation must run
// before the codec is used and is not thread-safe, so it runs once under the static-init guard;
// afterwards the codec is only read (encode/decode are const).
struct json_codec_holder {
  capnp::JsonCodec codec;
  json_codec_holder() {
    codec.setMaxNestingDepth(max_json_nesting);
    codec.setRejectUnknownFields(true);  // a safety net: validation already rejected them
    for (const auto& info : event_types()) {
      codec.handleByAnnotation(info.public_schema);
      if (info.personal_schema) codec.handleByAnnotation(*info.personal_schema);
    }
  }
};

const capnp::JsonCodec& json_codec() {
  static const json_codec_holder holder;
  return holder.codec;
}

error unknown_type(std::string_view type) {
  return make_error(errc::invalid_argument, "unknown_event_type",
                    "unknown event type '" + std::string(type) + "'", "type");
}

error invalid_payload(const std::string& why) {
  return make_error(errc::corruption, "invalid_payload", "payload bytes do not decode: " + why);
}

status check_length(std::string_view bytes) {
  return check_payload_length(bytes);
}

// Cap'n Proto 0.9's JSON parser (Debian 12) turns the hex digits a-f of a `\uXXXX` escape into
// 0-5 and does not join surrogate pairs (fixed upstream in capnproto PR #1552), so "\u00e9"
// would be stored as "I". Every escape in a string is therefore decoded here first: a code point
// becomes its raw UTF-8 (the parser takes raw characters in strings), except `"` and `\`, which
// get their short escapes, and NUL, kept as the digits-only "\u0000" that the parser reads right
// and validation rejects. Malformed escapes are copied as they are for the parser to reject.
// Returns nullopt for an unpaired surrogate, which has no UTF-8 form.
std::optional<std::string> decode_unicode_escapes(std::string_view in) {
  auto hex4 = [&](std::size_t at) -> std::optional<std::uint32_t> {
    if (at + 4 > in.size()) return std::nullopt;
    std::uint32_t value = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      char c = in[i];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) return std::nullopt;
      value = value << 4 | static_cast<std::uint32_t>(digit);
    }
    return value;
  };
  std::string out;
  out.reserve(in.size());
  bool in_string = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '"') in_string = !in_string;
    if (!in_string || c != '\\' || i + 1 >= in.size()) {
      out += c;
      continue;
    }
    auto unit = in[i + 1] == 'u' ? hex4(i + 2) : std::nullopt;
    if (!unit) {  // a short escape (or a malformed one): copied with its escaped character
      out.append(in.substr(i, 2));
      ++i;
      continue;
    }
    std::uint32_t code = *unit;
    std::size_t length = 6;
    if (code >= 0xdc00 && code <= 0xdfff) return std::nullopt;
    if (code >= 0xd800 && code <= 0xdbff) {
      auto low = in.substr(i + 6, 2) == "\\u" ? hex4(i + 8) : std::nullopt;
      if (!low || *low < 0xdc00 || *low > 0xdfff) return std::nullopt;
      code = 0x10000 + ((code - 0xd800) << 10) + (*low - 0xdc00);
      length = 12;
    }
    i += length - 1;
    if (code == 0) {
      out += "\\u0000";
    } else if (code == '"' || code == '\\') {
      out += '\\';
      out += static_cast<char>(code);
    } else {
      append_utf8(out, code);
    }
  }
  return out;
}

// A payload_reader that can also give the root as a dynamic struct of `schema`.
class bounded_reader : public payload_reader {
 public:
  using payload_reader::payload_reader;
  capnp::DynamicStruct::Reader root(capnp::StructSchema schema) {
    return message().getRoot<capnp::DynamicStruct>(schema);
  }
};

kj::Maybe<capnp::StructSchema::Field> sealed_field(const event_type_info& info) {
  if (!info.personal_schema) return nullptr;
  return info.public_schema.findFieldByName("sealed");
}

result<std::string> encode_struct(Value::Reader json, capnp::StructSchema schema) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<capnp::DynamicStruct>(schema);
  json_codec().decode(json, root);
  return message_bytes(message);
}

// Appends the personal part of the output object as `view` asks.
status add_personal(const event_type_info& info, std::optional<std::string_view> personal_bytes,
                    personal_view view, capnp::MallocMessageBuilder& scratch,
                    std::vector<Value::Field::Reader>& out_fields,
                    std::vector<kj::StringPtr>& erased_names) {
  if (!info.personal_schema) {
    if (personal_bytes && !personal_bytes->empty() && view == personal_view::full)
      return make_error(errc::invalid_argument, "unexpected_personal_data",
                        std::string(info.type) + " has no personal fields");
    return {};
  }
  if (view == personal_view::redacted) return {};
  if (view == personal_view::erased) {
    for (auto field : info.personal_schema->getFields())
      erased_names.push_back(detail::json_name(field));
    return {};
  }
  if (!personal_bytes)
    return make_error(errc::invalid_argument, "missing_personal_data",
                      std::string(info.type) + " needs its personal bytes for the full view");
  if (auto s = check_length(*personal_bytes); !s) return s;
  bounded_reader reader(*personal_bytes);
  auto root = reader.root(*info.personal_schema);
  auto json = scratch.initRoot<Value>();
  json_codec().encode(root, *info.personal_schema, json);
  for (auto f : json.asReader().getObject())
    out_fields.push_back(f);
  return {};
}

}  // namespace

result<encoded_payload> encode_payload(std::string_view type, std::string_view json_object) {
  const auto* info = find_event_type(type);
  if (!info) return unknown_type(type);
  if (json_object.size() > max_payload_json_bytes)
    return make_error(
        errc::too_large, "payload_too_large",
        "payload is larger than " + std::to_string(max_payload_json_bytes) + " bytes");
  if (!is_valid_utf8(json_object))
    return make_error(errc::invalid_argument, "invalid_json", "payload is not valid UTF-8");

  auto text = decode_unicode_escapes(json_object);
  if (!text)
    return make_error(errc::invalid_argument, "invalid_json",
                      "payload is not valid JSON: a \\u escape is an unpaired surrogate");

  capnp::MallocMessageBuilder parsed;
  auto input = parsed.initRoot<Value>();
  try {
    json_codec().decodeRaw(kj::ArrayPtr<const char>(text->data(), text->size()), input);
  } catch (const kj::Exception& e) {
    return make_error(errc::invalid_argument, "invalid_json",
                      std::string("payload is not valid JSON: ") + e.getDescription().cStr());
  }

  capnp::MallocMessageBuilder split;
  auto halves = split.initRoot<Value>().initArray(2);
  if (auto s = detail::validate_and_split(input.asReader(), info->public_schema,
                                          info->personal_schema, halves[0], halves[1]);
      !s)
    return s.take_err();

  try {
    encoded_payload out;
    auto public_bytes = encode_struct(halves[0].asReader(), info->public_schema);
    out.public_bytes = std::move(*public_bytes);
    if (info->personal_schema) {
      auto personal_bytes = encode_struct(halves[1].asReader(), *info->personal_schema);
      out.personal_bytes = std::move(*personal_bytes);
    }
    return out;
  } catch (const kj::Exception& e) {
    // Validation accepted something JsonCodec did not: a gap in payload_validation.cc.
    return make_error(
        errc::internal, "encode_failed",
        std::string("validated payload failed to encode: ") + e.getDescription().cStr());
  }
}

result<upcast_payload_result> upcast_payload(std::string_view type, std::uint16_t schema_version,
                                             std::string_view public_bytes) {
  const auto* info = find_event_type(type);
  if (!info) return unknown_type(type);
  upcast_payload_result out;
  if (!info->personal_schema || schema_version >= info->schema_version) {
    out.public_bytes = std::string(public_bytes);
    return out;
  }
  try {
    if (auto s = check_length(public_bytes); !s) return s.take_err();
    bounded_reader reader(public_bytes);
    auto stored = reader.root(info->public_schema);
    capnp::MallocMessageBuilder public_message, personal_message;
    // Copied, fields unknown to this schema included; the moved ones are cleared below.
    public_message.getRoot<capnp::AnyPointer>().set(reader.message().getRoot<capnp::AnyPointer>());
    auto current = public_message.getRoot<capnp::DynamicStruct>(info->public_schema);
    auto personal = personal_message.initRoot<capnp::DynamicStruct>(*info->personal_schema);
    for (auto field : info->public_schema.getFields()) {
      auto since = detail::personal_since(field);
      if (since == 0 || schema_version >= since || !stored.has(field)) continue;
      KJ_IF_MAYBE (target, info->personal_schema->findFieldByName(field.getProto().getName())) {
        personal.set(*target, stored.get(field));
      }
      current.clear(field);
    }
    // A fresh copy, so the cleared values' bytes are not carried along unreachable.
    capnp::MallocMessageBuilder compact;
    compact.setRoot(current.asReader());
    out.public_bytes = message_bytes(compact);
    out.personal_bytes = message_bytes(personal_message);
    return out;
  } catch (const kj::Exception& e) {
    return invalid_payload(e.getDescription().cStr());
  }
}

result<std::string> decode_payload_json(std::string_view type, std::string_view public_bytes,
                                        std::optional<std::string_view> personal_bytes,
                                        personal_view view) {
  const auto* info = find_event_type(type);
  if (!info) return unknown_type(type);
  try {
    if (auto s = check_length(public_bytes); !s) return s.take_err();
    bounded_reader reader(public_bytes);
    auto root = reader.root(info->public_schema);
    capnp::MallocMessageBuilder scratch_public, scratch_personal, output;
    auto json = scratch_public.initRoot<Value>();
    json_codec().encode(root, info->public_schema, json);

    std::vector<Value::Field::Reader> fields;
    for (auto f : json.asReader().getObject()) {
      KJ_IF_MAYBE (field, info->public_schema.findFieldByName(f.getName())) {
        if (detail::is_internal_field(*field)) continue;  // `sealed` never leaves the store
      }
      fields.push_back(f);
    }
    std::vector<kj::StringPtr> erased_names;
    if (auto s = add_personal(*info, personal_bytes, view, scratch_personal, fields, erased_names);
        !s)
      return s.take_err();

    auto object = output.initRoot<Value>().initObject(fields.size() + erased_names.size());
    unsigned i = 0;
    for (auto f : fields) {
      object[i].setName(f.getName());
      object[i++].setValue(f.getValue());
    }
    for (auto name : erased_names) {
      object[i].setName(name);
      object[i++].initValue().setString(erased_marker);
    }
    auto text = json_codec().encodeRaw(output.getRoot<Value>().asReader());
    std::string out(text.cStr(), text.size());
    if (!is_valid_utf8(out)) return invalid_payload("a text field is not valid UTF-8");
    return out;
  } catch (const kj::Exception& e) {
    return invalid_payload(e.getDescription().cStr());
  }
}

result<std::string> set_sealed(std::string_view type, std::string_view public_bytes,
                               std::string_view ciphertext) {
  const auto* info = find_event_type(type);
  if (!info) return unknown_type(type);
  KJ_IF_MAYBE (field, sealed_field(*info)) {
    try {
      if (auto s = check_length(public_bytes); !s) return s.take_err();
      bounded_reader reader(public_bytes);
      auto source = reader.root(info->public_schema);
      // Sealing happens once; refusing a second seal also keeps an old ciphertext from lingering
      // in the message as unreachable bytes.
      if (source.has(*field))
        return make_error(errc::invalid_argument, "already_sealed",
                          std::string(info->type) + " payload is already sealed");
      capnp::MallocMessageBuilder message;
      // Copy through AnyPointer so fields a newer schema wrote survive a round trip here.
      message.getRoot<capnp::AnyPointer>().set(reader.message().getRoot<capnp::AnyPointer>());
      auto root = message.getRoot<capnp::DynamicStruct>(info->public_schema);
      root.set(*field, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(ciphertext.data()),
                                           ciphertext.size()));
      return message_bytes(message);
    } catch (const kj::Exception& e) {
      return invalid_payload(e.getDescription().cStr());
    }
  }
  return make_error(errc::invalid_argument, "no_personal_data",
                    std::string(info->type) + " has no personal fields to seal");
}

result<std::string> get_sealed(std::string_view type, std::string_view public_bytes) {
  const auto* info = find_event_type(type);
  if (!info) return unknown_type(type);
  KJ_IF_MAYBE (field, sealed_field(*info)) {
    try {
      if (auto s = check_length(public_bytes); !s) return s.take_err();
      bounded_reader reader(public_bytes);
      auto root = reader.root(info->public_schema);
      auto data = root.get(*field).as<capnp::Data>();
      return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
    } catch (const kj::Exception& e) {
      return invalid_payload(e.getDescription().cStr());
    }
  }
  return make_error(errc::invalid_argument, "no_personal_data",
                    std::string(info->type) + " has no personal fields");
}

result<bool> same_fields(std::string_view type, bool personal, std::string_view first,
                         std::string_view again, const std::vector<std::string>& ignored) {
  const auto* info = find_event_type(type);
  if (!info) return unknown_type(type);
  if (personal && !info->personal_schema)
    return make_error(errc::invalid_argument, "no_personal_data",
                      std::string(info->type) + " has no personal fields");
  auto schema = personal ? *info->personal_schema : info->public_schema;
  try {
    if (auto s = check_length(first); !s) return s.take_err();
    if (auto s = check_length(again); !s) return s.take_err();
    bounded_reader first_reader(first), again_reader(again);
    capnp::MallocMessageBuilder first_copy, again_copy;
    first_copy.getRoot<capnp::AnyPointer>().set(
        first_reader.message().getRoot<capnp::AnyPointer>());
    again_copy.getRoot<capnp::AnyPointer>().set(
        again_reader.message().getRoot<capnp::AnyPointer>());
    auto a = first_copy.getRoot<capnp::DynamicStruct>(schema);
    auto b = again_copy.getRoot<capnp::DynamicStruct>(schema);
    for (auto field : schema.getFields()) {
      auto name = detail::json_name(field);
      bool skipped = std::string_view(field.getProto().getName().cStr()) == "sealed" ||
                     !b.asReader().has(field) ||
                     std::find(ignored.begin(), ignored.end(), name.cStr()) != ignored.end();
      if (!skipped) continue;
      a.clear(field);
      b.clear(field);
    }
    auto x = a.asReader().as<capnp::AnyStruct>().canonicalize();
    auto y = b.asReader().as<capnp::AnyStruct>().canonicalize();
    return x.size() == y.size() && std::memcmp(x.begin(), y.begin(), x.asBytes().size()) == 0;
  } catch (const kj::Exception& e) {
    return invalid_payload(e.getDescription().cStr());
  }
}

}  // namespace kakehashi
