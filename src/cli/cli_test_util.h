// Running the aftune binary from tests, as a user would.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace aftune::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing both streams.
inline CommandResult RunCommand(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs `aftune ARGS` through the shell, capturing both streams.
inline CommandResult RunAftune(const std::string& args) { return RunCommand(std::string(AFTUNE_BINARY) + " " + args); }

inline std::string TestDir(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() / ("aftune-cli-" + tag + "-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A prompt/completion JSONL of the sums a+b for a < a_count, b < b_count.
inline std::string AdditionJsonl(int a_count, int b_count) {
  std::string data;
  for (int a = 0; a < a_count; ++a)
    for (int b = 0; b < b_count; ++b)
      data += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) + "=\", \"completion\": \"" +
              std::to_string(a + b) + "\"}\n";
  return data;
}

inline void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Starts `aftune ARGS` in the background and kills it with SIGKILL once
// `file` has been written `writes` times (observed by its modification time).
inline void KillAfterWrites(const std::string& args, const std::string& file, int writes) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string cmd = std::string(AFTUNE_BINARY) + " " + args + " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::filesystem::file_time_type last{};
  int seen = 0;
  for (int i = 0; i < 20000 && seen < writes; ++i) {
    std::error_code ec;
    auto t = std::filesystem::last_write_time(file, ec);
    if (!ec && t != last) {
      last = t;
      ++seen;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// `aftune COMMAND_AND_ARGS --port 0` in the background (a server); its URL
// read from its first line of output ("… http://HOST:PORT …"). Killed
// with SIGKILL when destroyed unless Signal() was called.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& command_and_args) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      const std::string cmd = "exec " + std::string(AFTUNE_BINARY) + " " + command_and_args + " --port 0";
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(fds[0]);
    const std::string mark = "http://";
    size_t at = line.find(mark);
    EXPECT_NE(at, std::string::npos) << "server said: " << line;
    if (at != std::string::npos) url_ = line.substr(at, line.find(' ', at) - at);
  }
  ~ServerProcess() {
    if (pid_ > 0) Signal(SIGKILL);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  const std::string& url() const { return url_; }
  // Sends `sig` and waits; returns the exit status (-1 when killed).
  int Signal(int sig) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace aftune::testing
