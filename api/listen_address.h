// Parsing --listen values and printing bound endpoints as URLs. Pure functions.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>

#include "events/result.h"

namespace kakehashi::api {

struct listen_address {
  std::string host;  // without IPv6 brackets
  std::string port;  // decimal, 0..65535
};

// "127.0.0.1:8080", "[::1]:0", "localhost:8080". The port is required.
result<listen_address> parse_listen_address(std::string_view text);

// "http://127.0.0.1:8080", "http://[::1]:8080".
std::string format_url(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace kakehashi::api
