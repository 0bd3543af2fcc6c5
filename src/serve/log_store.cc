#include "serve/log_store.h"

#include <algorithm>
#include <cctype>

namespace aftune {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Describe(const std::vector<LogColumn>& columns) {
  std::string out = "(";
  for (const LogColumn& c : columns) {
    if (out.size() > 1) out += ", ";
    out += c.name + " " + Lower(c.type) + (c.primary_key ? " primary key" : "");
  }
  return out + ")";
}

}  // namespace

bool LogColumn::operator==(const LogColumn& o) const {
  return name == o.name && Lower(type) == Lower(o.type) && primary_key == o.primary_key;
}

Result<bool> CheckLogSchema(const LogSchema& found, const LogSchema& expected, const std::string& db) {
  if (found.empty()) return true;
  std::vector<std::string> missing;
  for (const auto& [table, columns] : expected)
    if (!found.count(table)) missing.push_back(table);
  if (missing.size() == expected.size()) {
    std::string tables;
    for (const auto& [table, columns] : found) tables += (tables.empty() ? "" : ", ") + table;
    return Status::Corruption(db + ": not an aftune receipt log: it holds other tables (" + tables +
                              ") and none of the log's");
  }
  if (!missing.empty()) return Status::Corruption(db + ": the receipt log's table '" + missing[0] + "' is missing");
  for (const auto& [table, columns] : expected)
    if (found.at(table) != columns)
      return Status::Corruption(db + ": the receipt log's table '" + table + "' has columns " +
                                Describe(found.at(table)) + ", expected " + Describe(columns));
  return false;
}

}  // namespace aftune
