#include <cstdio>
#include <cstdlib>

#include "dist/communicator.h"

namespace aftune {

namespace {

class SingleRankCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void Send(int, const void*, size_t) override { AFTUNE_CHECK(false && "Send in a job of one rank"); }
  void Recv(int, void*, size_t) override { AFTUNE_CHECK(false && "Recv in a job of one rank"); }
  void StartSend(int, const void*, size_t) override { AFTUNE_CHECK(false && "StartSend in a job of one rank"); }
  void WaitSends() override {}
  void Broadcast(int root, void*, size_t) override { AFTUNE_CHECK(root == 0); }
  void Barrier() override {}
  [[noreturn]] void Abort(const std::string& message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(1);
  }
};

}  // namespace

std::unique_ptr<Communicator> SingleRank() { return std::make_unique<SingleRankCommunicator>(); }

}  // namespace aftune
