// The C API only: Open MPI's mpi.h otherwise pulls in its deprecated C++
// bindings, which need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dist/communicator.h"

namespace aftune {

namespace {

// MPI counts are int: larger buffers go in chunks of 1 GiB.
constexpr size_t kChunk = size_t{1} << 30;

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void Send(int dest, const void* data, size_t bytes) override {
    auto* p = static_cast<const char*>(data);
    size_t at = 0;
    do {  // a zero-byte buffer is still one message
      const int n = static_cast<int>(std::min(kChunk, bytes - at));
      Check(MPI_Send(p + at, n, MPI_BYTE, dest, 0, MPI_COMM_WORLD), "MPI_Send");
      at += n;
    } while (at < bytes);
  }
  void Recv(int source, void* data, size_t bytes) override {
    auto* p = static_cast<char*>(data);
    size_t at = 0;
    do {
      const int n = static_cast<int>(std::min(kChunk, bytes - at));
      Check(MPI_Recv(p + at, n, MPI_BYTE, source, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
      at += n;
    } while (at < bytes);
  }
  void StartSend(int dest, const void* data, size_t bytes) override {
    auto* p = static_cast<const char*>(data);
    size_t at = 0;
    do {
      const int n = static_cast<int>(std::min(kChunk, bytes - at));
      MPI_Request request;
      Check(MPI_Isend(p + at, n, MPI_BYTE, dest, 0, MPI_COMM_WORLD, &request), "MPI_Isend");
      sends_.push_back(request);
      at += n;
    } while (at < bytes);
  }
  void WaitSends() override {
    Check(MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    sends_.clear();
  }
  void Broadcast(int root, void* data, size_t bytes) override {
    auto* p = static_cast<char*>(data);
    for (size_t at = 0; at < bytes; at += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, bytes - at));
      Check(MPI_Bcast(p + at, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }
  void Barrier() override { Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void Abort(const std::string& message) override {
    std::fprintf(stderr, "rank %d of %d: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::exit(1);  // MPI_Abort does not return; for the compiler
  }

 private:
  // MPI_ERRORS_RETURN is set: a failed call (a peer gone) aborts the job
  // with a message naming this rank rather than hanging.
  void Check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    Abort(std::string(what) + " failed: " + std::string(text, len));
  }

  int rank_ = 0;
  int size_ = 1;
  std::vector<MPI_Request> sends_;  // StartSend's, until WaitSends
};

}  // namespace

Result<std::unique_ptr<Communicator>> JoinJob() {
  // Started by a process manager (mpirun, or srun through PMIx/PMI)?
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
  if (!launched) return SingleRank();
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return Status::IOError("MPI_Init_thread failed (started by mpirun?)");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return std::unique_ptr<Communicator>(new MpiCommunicator());
}

}  // namespace aftune
