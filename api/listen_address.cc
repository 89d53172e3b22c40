#include "api/listen_address.h"

#include <charconv>

namespace kakehashi::api {

result<listen_address> parse_listen_address(std::string_view text) {
  auto bad = [&] {
    return make_error(errc::invalid_argument, "bad_listen_address",
                      "listen address must be HOST:PORT, got '" + std::string(text) + "'",
                      "listen");
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // an IPv6 address needs brackets to tell it from the port
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return bad();
  return listen_address{std::string(host), std::to_string(value)};
}

std::string format_url(const boost::asio::ip::tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(endpoint.port());
}

}  // namespace kakehashi::api
