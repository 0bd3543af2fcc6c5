#include "trace/store_writer.h"

namespace aftune {

StoreWriter::StoreWriter(TensorStore* store) : store_(store), thread_([this] { Run(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void StoreWriter::Enqueue(Item item) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    ++submitted_;
    if (!status_.ok()) {
      ++written_;  // dropped: Flush reports the failure
      return;
    }
    // Moving a map keeps its nodes: views into `owned` stay valid.
    if (item.refs.empty()) item.refs = RefsOf(item.owned);
    queue_.push_back(std::move(item));
  }
  work_.notify_one();
}

void StoreWriter::PutState(const Hash& digest, TensorMap state) { Enqueue({digest, std::move(state), {}}); }

void StoreWriter::PutTensor(const Hash& digest, const std::string& name, Tensor t) {
  TensorMap one;
  one.emplace(name, std::move(t));
  Enqueue({digest, std::move(one), {}});
}

void StoreWriter::PutLentState(const Hash& digest, TensorRefs state) { Enqueue({digest, {}, std::move(state)}); }

uint64_t StoreWriter::submitted() {
  std::unique_lock<std::mutex> lock(mu_);
  return submitted_;
}

Status StoreWriter::FlushThrough(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return written_ >= ticket; });
  return failed_ < ticket ? status_ : Status::Ok();
}

void StoreWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ with nothing left to write
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Status st = store_->Put(item.digest, item.refs);
    lock.lock();
    if (!st.ok() && status_.ok()) {
      status_ = st;
      failed_ = written_;
      written_ += queue_.size();
      queue_.clear();
    }
    ++written_;
    idle_.notify_all();
  }
}

}  // namespace aftune
