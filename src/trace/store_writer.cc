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
    if (!status_.ok()) return;
    queue_.push_back(std::move(item));
  }
  work_.notify_one();
}

void StoreWriter::PutState(const Hash& digest, TensorMap state) { Enqueue({digest, std::move(state)}); }

void StoreWriter::PutTensor(const Hash& digest, const std::string& name, Tensor t) {
  TensorMap one;
  one.emplace(name, std::move(t));
  Enqueue({digest, std::move(one)});
}

Status StoreWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
  return status_;
}

void StoreWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ with nothing left to write
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    Status st = store_->Put(item.digest, item.tensors);
    lock.lock();
    busy_ = false;
    if (!st.ok() && status_.ok()) {
      status_ = st;
      queue_.clear();
    }
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace aftune
