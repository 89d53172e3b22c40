// The OpenAPI 3.1 description of the HTTP API, served at GET /v1/openapi.json. Every route is
// described in one table (api/openapi.cc); command bodies are JSON Schemas generated from the
// event payload schemas (events/domain.capnp: field names, types, enumerations, $required,
// formats, bounds; personal fields marked "x-personal": true), so they cannot drift from what
// the codec accepts. A test checks that every route the router knows is in the document.
// Pure; thread-safe.
#pragma once

#include <boost/json/object.hpp>

namespace kakehashi::api {

boost::json::object openapi_document();

}  // namespace kakehashi::api
