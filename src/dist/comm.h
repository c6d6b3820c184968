// Communication between the ranks of a data-parallel job (issue 16). The trainer sees only this
// interface; MPI implements it (comm_mpi.cpp, Open MPI from Debian), and a process started
// without mpirun is a world of one. NCCL can implement it for the CUDA backend later.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bertrain {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this host (they share its cores).
  virtual int local_size() const = 0;
  // Sums n values over the ranks, in place, in host memory; every rank gets the sum.
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;
  // DDP's overlap: a sum over the ranks started now and left running, in place (data stays
  // untouched until wait_all); progress() lets the started sums move (MPI moves them only
  // inside its calls); wait_all() waits for every started sum.
  virtual void start_allreduce_sum(float* data, size_t n) = 0;
  virtual void progress() = 0;
  virtual void wait_all() = 0;
  // ZeRO-1, over a flat buffer of n host values split as shards_of(n, size()) lays out:
  // the sum over the ranks of this rank's piece, written there (the rest of data is left
  // undefined: it held this rank's own contributions to the other pieces) ...
  virtual void reduce_scatter_sum(float* data, size_t n) = 0;
  virtual void reduce_scatter_sum(double* data, size_t n) = 0;
  // ... every piece from the rank that owns it, so that all ranks hold the whole buffer ...
  virtual void allgather(float* data, size_t n) = 0;
  virtual void allgather(double* data, size_t n) = 0;
  virtual void allgather(uint16_t* data, size_t n) = 0;
  // ... and every rank's piece (its own values, piece.size() of them) into whole (n values) on
  // rank 0 only; whole is unused elsewhere (a checkpoint of sharded state).
  virtual void gather_to_root(const float* piece, float* whole, size_t n) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with this exit code (a rank that failed alone would leave the
  // others waiting in a collective forever).
  virtual void abort(int code) = 0;
};

// The process's world: the MPI job this process was started in (mpirun), else a world of one.
// MPI is initialised at the first call and finalised at exit.
Comm& world();

// A world of one, whatever launched the process (tests, and builds without MPI).
Comm& single_process();

}  // namespace bertrain
