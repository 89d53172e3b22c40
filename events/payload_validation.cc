#include "events/payload_validation.h"

#include <cmath>
#include <string>
#include <unordered_set>
#include <vector>

#include "events/ids.h"
#include "events/reference_data.h"
#include "events/schema_annotations.h"
#include "events/text_formats.h"

namespace kakehashi::detail {
namespace {

using capnp::StructSchema;
using capnp::json::Value;
using capnp::schema::Type;

struct constraints {
  bool required = false;
  bool not_blank = false;  // $notBlank, or implied by $required
  bool multiline = false;
  std::optional<text_format> format;
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  std::optional<std::uint32_t> max_length;  // characters of a Text, or of each List(Text) element
  std::optional<std::uint32_t> max_items;   // elements of a List
};

constraints constraints_of(StructSchema::Field field) {
  constraints c;
  for (auto a : field.getProto().getAnnotations()) {
    auto value = a.getValue();
    if (a.getId() == annotation_id::required) c.required = c.not_blank = true;
    if (a.getId() == annotation_id::not_blank) c.not_blank = true;
    if (a.getId() == annotation_id::multiline) c.multiline = true;
    if (a.getId() == annotation_id::format) c.format = static_cast<text_format>(value.getEnum());
    if (a.getId() == annotation_id::min) c.min = value.getInt64();
    if (a.getId() == annotation_id::max) c.max = value.getInt64();
    if (a.getId() == annotation_id::max_length) c.max_length = value.getUint32();
    if (a.getId() == annotation_id::max_items) c.max_items = value.getUint32();
  }
  return c;
}

kj::StringPtr json_name_of(capnp::List<capnp::schema::Annotation>::Reader annotations,
                           kj::StringPtr fallback) {
  for (auto a : annotations)
    if (a.getId() == annotation_id::json_name) return a.getValue().getText();
  return fallback;
}

std::string_view view(capnp::Text::Reader text) {
  return {text.begin(), text.size()};
}

error fail(const char* code, const std::string& path, const std::string& what) {
  return make_error(errc::invalid_argument, code, (path.empty() ? "payload" : path) + " " + what,
                    path);
}

std::string join(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

kj::Maybe<StructSchema::Field> find_field(StructSchema schema, std::string_view name) {
  for (auto field : schema.getFields())
    if (!is_internal_field(field) && view(json_name(field)) == name) return field;
  return nullptr;
}

status check_struct(Value::Reader value, StructSchema schema, const std::string& path);

status check_integer(double number, Type::Which which, const constraints& c,
                     const std::string& path) {
  if (!std::isfinite(number) || std::floor(number) != number)
    return fail("invalid_type", path, "must be an integer");
  double lo = 0, hi = 0;
  switch (which) {
    case Type::INT8:
      lo = -128, hi = 127;
      break;
    case Type::INT16:
      lo = -32768, hi = 32767;
      break;
    case Type::INT32:
      lo = -2147483648.0, hi = 2147483647.0;
      break;
    case Type::UINT8:
      hi = 255;
      break;
    case Type::UINT16:
      hi = 65535;
      break;
    case Type::UINT32:
      hi = 4294967295.0;
      break;
    default:
      break;
  }
  if (c.min && static_cast<double>(*c.min) > lo) lo = static_cast<double>(*c.min);
  if (c.max && static_cast<double>(*c.max) < hi) hi = static_cast<double>(*c.max);
  if (number < lo || number > hi)
    return fail("invalid_value", path,
                "must be between " + std::to_string(static_cast<long long>(lo)) + " and " +
                    std::to_string(static_cast<long long>(hi)));
  return {};
}

// "a | b | c", for a message naming the codes a value may take.
std::string alternatives(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& code : codes)
    out += (out.empty() ? "" : " | ") + code;
  return out;
}

status check_text(std::string_view text, const constraints& c, const std::string& path) {
  if (!is_valid_utf8(text)) return fail("invalid_json", path, "is not valid UTF-8");
  if (c.max_length && code_points(text) > *c.max_length)
    return fail("invalid_value", path,
                "must be at most " + std::to_string(*c.max_length) + " characters");
  if (auto bad = disallowed_char(text, c.multiline))
    return fail("invalid_value", path, "must not contain " + bad->describe());
  if (c.not_blank && is_blank(text))
    return fail("invalid_value", path, "must not be empty or only whitespace");
  if (!c.format) return {};
  switch (*c.format) {
    case text_format::date:
      if (!is_valid_date(text)) return fail("invalid_value", path, "must be a date YYYY-MM-DD");
      break;
    case text_format::uuid:
      if (!parse_uuid(text)) return fail("invalid_value", path, "must be a UUID");
      break;
    case text_format::lg_code:
      if (!is_valid_lg_code(text))
        return fail("invalid_value", path, "must be a 6-digit local government code");
      if (!is_tokyo_municipality(text))
        return fail("invalid_value", path, "must be the code of one of Tokyo's municipalities");
      break;
    case text_format::email:
      if (!is_email_like(text))
        return fail("invalid_value", path, "must be an email address (name@example.jp)");
      break;
    case text_format::phone:
      if (!is_phone_like(text))
        return fail("invalid_value", path,
                    "must be a phone number of digits, spaces, - ( ) and a leading +");
      break;
    case text_format::role_category:
      if (!is_role_category(text))
        return fail("invalid_value", path,
                    "must be a role category of reference/taxonomy.tsv: " +
                        alternatives(role_categories()));
      break;
    case text_format::skill:
      if (!is_skill(text))
        return fail("invalid_value", path,
                    "must be a skill of reference/taxonomy.tsv: " + alternatives(skills()));
      break;
  }
  return {};
}

// Checks one non-null JSON value against a Cap'n Proto type; `c` carries the field's annotations
// (for a list, they apply to each element).
status check_value(Value::Reader value, capnp::Type type, const constraints& c,
                   const std::string& path) {
  auto which = type.which();
  switch (which) {
    case Type::BOOL:
      if (!value.isBoolean()) return fail("invalid_type", path, "must be true or false");
      return {};
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
      if (!value.isNumber()) return fail("invalid_type", path, "must be a number");
      return check_integer(value.getNumber(), which, c, path);
    case Type::FLOAT32:
    case Type::FLOAT64:
      if (!value.isNumber()) return fail("invalid_type", path, "must be a number");
      if (!std::isfinite(value.getNumber())) return fail("invalid_value", path, "must be finite");
      return {};
    case Type::TEXT:
      if (!value.isString()) return fail("invalid_type", path, "must be a string");
      return check_text(view(value.getString()), c, path);
    case Type::ENUM: {
      if (!value.isString()) return fail("invalid_type", path, "must be a string");
      auto text = view(value.getString());
      std::string allowed;
      for (auto e : type.asEnum().getEnumerants()) {
        if (view(json_name(e)) == text) return {};
        allowed += (allowed.empty() ? "" : " | ") + std::string(json_name(e).cStr());
      }
      return fail("invalid_value", path, "must be one of " + allowed);
    }
    case Type::LIST: {
      if (!value.isArray()) return fail("invalid_type", path, "must be an array");
      auto element = type.asList().getElementType();
      auto items = value.getArray();
      if (c.max_items && items.size() > *c.max_items)
        return fail("invalid_value", path,
                    "must have at most " + std::to_string(*c.max_items) + " items");
      for (unsigned i = 0; i < items.size(); ++i) {
        auto item_path = path + "[" + std::to_string(i) + "]";
        if (items[i].isNull()) return fail("invalid_type", item_path, "must not be null");
        if (auto s = check_value(items[i], element, c, item_path); !s) return s;
      }
      return {};
    }
    case Type::STRUCT:
      return check_struct(value, type.asStruct(), path);
    default:
      // Data is codec-internal; 64-bit integers, interfaces and AnyPointer are not used in
      // payloads (JsonCodec would need string numbers or handlers for them).
      return make_error(errc::internal, "unsupported_schema",
                        "schema type of " + path + " is not supported in payloads", path);
  }
}

// Rejects a JSON object that names a key twice: which copy would win is parser-specific.
status check_unique_names(capnp::List<Value::Field>::Reader fields, const std::string& path) {
  std::unordered_set<std::string_view> seen;
  for (auto f : fields) {
    auto name = view(f.getName());
    if (!seen.insert(name).second)
      return fail("duplicate_field", join(path, name), "appears more than once");
  }
  return {};
}

status check_required(StructSchema schema, const std::vector<std::string_view>& present,
                      const std::string& path) {
  for (auto field : schema.getFields()) {
    if (is_internal_field(field) || !constraints_of(field).required) continue;
    auto name = view(json_name(field));
    bool found = false;
    for (auto p : present)
      found = found || p == name;
    if (!found) return fail("missing_field", join(path, name), "is required");
  }
  return {};
}

// Checks one field's value; nulls count as absent. Adds the name to `present` when not null.
status check_field(Value::Field::Reader f, StructSchema::Field field, const std::string& path,
                   std::vector<std::string_view>& present) {
  auto c = constraints_of(field);
  auto field_path = join(path, view(f.getName()));
  if (f.getValue().isNull()) return {};
  present.push_back(view(f.getName()));
  return check_value(f.getValue(), field.getType(), c, field_path);
}

status check_struct(Value::Reader value, StructSchema schema, const std::string& path) {
  if (!value.isObject()) return fail("invalid_type", path, "must be an object");
  auto fields = value.getObject();
  if (auto s = check_unique_names(fields, path); !s) return s;
  std::vector<std::string_view> present;
  for (auto f : fields) {
    KJ_IF_MAYBE (field, find_field(schema, view(f.getName()))) {
      if (auto s = check_field(f, *field, path, present); !s) return s;
    } else {
      return fail("unknown_field", join(path, view(f.getName())), "is not a field of this event");
    }
  }
  return check_required(schema, present, path);
}

// Copies a checked value, dropping object members that are null (an optional field sent as
// null means "absent", which JsonCodec would otherwise reject for non-pointer types).
void copy_without_nulls(Value::Reader in, Value::Builder out) {
  switch (in.which()) {
    case Value::NULL_:
      out.setNull();
      break;
    case Value::BOOLEAN:
      out.setBoolean(in.getBoolean());
      break;
    case Value::NUMBER:
      out.setNumber(in.getNumber());
      break;
    case Value::STRING:
      out.setString(in.getString());
      break;
    case Value::ARRAY: {
      auto items = in.getArray();
      auto copy = out.initArray(items.size());
      for (unsigned i = 0; i < items.size(); ++i)
        copy_without_nulls(items[i], copy[i]);
      break;
    }
    case Value::OBJECT: {
      unsigned count = 0;
      for (auto f : in.getObject())
        count += f.getValue().isNull() ? 0 : 1;
      auto copy = out.initObject(count);
      unsigned i = 0;
      for (auto f : in.getObject()) {
        if (f.getValue().isNull()) continue;
        copy[i].setName(f.getName());
        copy_without_nulls(f.getValue(), copy[i].initValue());
        ++i;
      }
      break;
    }
    case Value::CALL:
      out.setNull();
      break;  // never produced from standard JSON text
  }
}

void copy_fields(capnp::List<Value::Field>::Reader fields, const std::vector<unsigned>& picked,
                 Value::Builder out) {
  auto copy = out.initObject(picked.size());
  for (unsigned i = 0; i < picked.size(); ++i) {
    copy[i].setName(fields[picked[i]].getName());
    copy_without_nulls(fields[picked[i]].getValue(), copy[i].initValue());
  }
}

// Whether a Text of this shape has a length of its own, so it needs no $maxLength.
bool fixes_length(const constraints& c) {
  return c.format == text_format::date || c.format == text_format::uuid ||
         c.format == text_format::lg_code || c.format == text_format::role_category ||
         c.format == text_format::skill;
}

void collect_unbounded(StructSchema schema, const std::string& path,
                       std::vector<std::string>& out) {
  for (auto field : schema.getFields()) {
    if (is_internal_field(field)) continue;
    auto c = constraints_of(field);
    auto field_path = join(path, view(json_name(field)));
    auto type = field.getType();
    if (type.isList()) {
      if (!c.max_items) out.push_back(field_path);
      type = type.asList().getElementType();
      field_path += "[]";
    }
    if (type.isText() && !c.max_length && !fixes_length(c)) out.push_back(field_path);
    if (type.isStruct()) collect_unbounded(type.asStruct(), field_path, out);
  }
}

}  // namespace

std::vector<std::string> unbounded_fields(StructSchema schema) {
  std::vector<std::string> out;
  collect_unbounded(schema, "", out);
  return out;
}

kj::StringPtr json_name(capnp::StructSchema::Field field) {
  auto proto = field.getProto();
  return json_name_of(proto.getAnnotations(), proto.getName());
}

kj::StringPtr json_name(capnp::EnumSchema::Enumerant enumerant) {
  auto proto = enumerant.getProto();
  return json_name_of(proto.getAnnotations(), proto.getName());
}

std::uint16_t personal_since(capnp::StructSchema::Field field) {
  for (auto a : field.getProto().getAnnotations())
    if (a.getId() == annotation_id::personal_since) return a.getValue().getUint16();
  return 0;
}

bool is_internal_field(capnp::StructSchema::Field field) {
  return field.getType().which() == Type::DATA || personal_since(field) != 0;
}

status validate_and_split(Value::Reader input, StructSchema public_schema,
                          std::optional<StructSchema> personal_schema, Value::Builder public_out,
                          Value::Builder personal_out) {
  if (!input.isObject())
    return make_error(errc::invalid_argument, "invalid_json", "payload must be a JSON object");
  auto fields = input.getObject();
  if (auto s = check_unique_names(fields, ""); !s) return s;

  std::vector<unsigned> public_picked, personal_picked;
  std::vector<std::string_view> public_present, personal_present;
  for (unsigned i = 0; i < fields.size(); ++i) {
    auto name = view(fields[i].getName());
    // A null member means "absent": checked for its name, but not copied (JsonCodec rejects
    // null for Text and primitive fields; copy_without_nulls only drops nested members).
    const bool is_null = fields[i].getValue().isNull();
    kj::Maybe<StructSchema::Field> personal_field =
        personal_schema ? find_field(*personal_schema, name) : nullptr;
    KJ_IF_MAYBE (field, personal_field) {
      if (auto s = check_field(fields[i], *field, "", personal_present); !s) return s;
      if (!is_null) personal_picked.push_back(i);
    } else {
      KJ_IF_MAYBE (public_field, find_field(public_schema, name)) {
        if (auto s = check_field(fields[i], *public_field, "", public_present); !s) return s;
        if (!is_null) public_picked.push_back(i);
      } else {
        return fail("unknown_field", std::string(name), "is not a field of this event");
      }
    }
  }
  if (auto s = check_required(public_schema, public_present, ""); !s) return s;
  if (personal_schema)
    if (auto s = check_required(*personal_schema, personal_present, ""); !s) return s;

  copy_fields(fields, public_picked, public_out);
  copy_fields(fields, personal_picked, personal_out);
  return {};
}

}  // namespace kakehashi::detail
