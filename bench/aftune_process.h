// Running the `aftune` built beside a benchmark (../aftune) as a measured
// child process: wall time, CPU time (user + system) and peak resident
// memory, by wait4.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace aftune::bench {

struct Cost {
  double wall_s = 0, cpu_s = 0, peak_mib = 0;
};

inline std::string Aftune() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "aftune").string();
}

// Starts `aftune args` with stdout and stderr to `log`; returns its pid.
inline pid_t StartAftune(const std::vector<std::string>& args, const std::string& log) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (!out || ::dup2(::fileno(stdout), 2) < 0) ::_exit(126);
    std::vector<char*> argv;
    std::string bin = Aftune();
    argv.push_back(bin.data());
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Runs `aftune args` (output to `log`), measuring it. Aborts on failure.
inline Cost RunAftune(const std::vector<std::string>& args, const std::string& log) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = StartAftune(args, log);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  Cost c;
  c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  c.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  c.peak_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "aftune %s ... failed (status %d); see %s\n", args[0].c_str(), status, log.c_str());
    std::exit(1);
  }
  return c;
}

// The URL a server started by StartAftune prints in `log` ("… listening on
// http://HOST:PORT …"), once it is there. Exits after `seconds`.
inline std::string WaitForUrl(const std::string& log, int seconds) {
  const std::string mark = "listening on http://";
  for (int i = 0; i < 10 * seconds; ++i) {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);)
      if (const size_t at = line.find(mark); at != std::string::npos) {
        const size_t url = at + mark.size() - 7;
        return line.substr(url, line.find(' ', url) - url);
      }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "the server did not start within %d s; see %s\n", seconds, log.c_str());
  std::exit(1);
}

}  // namespace aftune::bench
