// The MPI world (built with BERTRAIN_WITH_MPI). A process counts as launched by mpirun when
// Open MPI's launcher (or a PMI launcher) set its environment; otherwise it stays a world of
// one and MPI is never initialised, so `bertrain train` alone behaves as before.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "dist/comm.h"
#include "dist/shard.h"

namespace bertrain {

namespace {

void check(int status, const char* what) {
  if (status == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, message, &length);
  fail("MPI error in ", what, ": ", std::string(message, static_cast<size_t>(length)));
}

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

class MpiWorld final : public Comm {
 public:
  MpiWorld() {
    int provided = 0;
    // Only the main thread calls MPI (the data loader's threads do not).
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as codes that check() turns into named errors.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm host;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host),
          "MPI_Comm_split_type");
    MPI_Comm_size(host, &local_size_);
    MPI_Comm_free(&host);
  }
  ~MpiWorld() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void allreduce_sum(float* data, size_t n) override { reduce(data, n, MPI_FLOAT); }
  void allreduce_sum(double* data, size_t n) override { reduce(data, n, MPI_DOUBLE); }
  void start_allreduce_sum(float* data, size_t n) override {
    for (size_t done = 0; done < n;) {
      const int count = static_cast<int>(std::min<size_t>(n - done, INT_MAX / 2));
      MPI_Request r;
      check(
          MPI_Iallreduce(MPI_IN_PLACE, data + done, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r),
          "MPI_Iallreduce");
      pending_.push_back(r);
      done += static_cast<size_t>(count);
    }
  }
  void progress() override {
    if (pending_.empty()) return;
    int all_done = 0;
    check(MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &all_done,
                      MPI_STATUSES_IGNORE),
          "MPI_Testall");
    if (all_done) pending_.clear();
  }
  void wait_all() override {
    check(MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE),
          "MPI_Waitall");
    pending_.clear();
  }
  void reduce_scatter_sum(float* data, size_t n) override { scatter_sums(data, n, MPI_FLOAT); }
  void reduce_scatter_sum(double* data, size_t n) override { scatter_sums(data, n, MPI_DOUBLE); }
  void allgather(float* data, size_t n) override { gather_all(data, n, MPI_FLOAT); }
  void allgather(double* data, size_t n) override { gather_all(data, n, MPI_DOUBLE); }
  void allgather(uint16_t* data, size_t n) override { gather_all(data, n, MPI_UINT16_T); }
  void gather_to_root(const float* piece, float* whole, size_t n) override {
    const Layout l = layout(n);
    check(MPI_Gatherv(piece, l.counts[rank_], MPI_FLOAT, whole, l.counts.data(), l.displs.data(),
                      MPI_FLOAT, 0, MPI_COMM_WORLD),
          "MPI_Gatherv");
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  void abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

 private:
  template <typename T>
  void reduce(T* data, size_t n, MPI_Datatype type) {
    // MPI counts are ints: large buffers go in pieces.
    for (size_t done = 0; done < n;) {
      const int count = static_cast<int>(std::min<size_t>(n - done, INT_MAX / 2));
      check(MPI_Allreduce(MPI_IN_PLACE, data + done, count, type, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
      done += static_cast<size_t>(count);
    }
  }
  // The pieces of shards_of(n, size) as MPI's int counts and displacements.
  struct Layout {
    std::vector<int> counts, displs;
  };
  Layout layout(size_t n) const {
    if (n > static_cast<size_t>(INT_MAX))
      fail("ZeRO-1: ", n, " parameters are more than one MPI call addresses (2^31 - 1)");
    Layout l;
    for (const Shard& s : shards_of(n, size_)) {
      l.counts.push_back(static_cast<int>(s.size()));
      l.displs.push_back(static_cast<int>(s.begin));
    }
    return l;
  }
  template <typename T>
  void scatter_sums(T* data, size_t n, MPI_Datatype type) {
    const Layout l = layout(n);
    // In place, MPI takes the input from data and writes this rank's sums at its start.
    check(MPI_Reduce_scatter(MPI_IN_PLACE, data, l.counts.data(), type, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Reduce_scatter");
    const Shard mine = shard_of(n, rank_, size_);
    if (mine.begin > 0) std::copy_n(data, mine.size(), data + mine.begin);
  }
  template <typename T>
  void gather_all(T* data, size_t n, MPI_Datatype type) {
    const Layout l = layout(n);
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, l.counts.data(), l.displs.data(),
                         type, MPI_COMM_WORLD),
          "MPI_Allgatherv");
  }
  std::vector<MPI_Request> pending_;  // started by start_allreduce_sum
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace

Comm& world() {
  if (!launched_by_mpirun()) return single_process();
  static MpiWorld w;
  return w;
}

}  // namespace bertrain
