# Sourced by the MPI benchmarks (mpi_scaling.sh, mpi_overlap.sh): a scratch directory, root
# allowed for Open MPI, a random-init bert-base model (5 labels), the `bertrain train` flags of
# their runs (dummy data, seq 128, batch 8 per rank, STEPS steps, nothing saved) and rate DIR,
# which reads a run's train_samples_per_second. Needs $build and $steps set.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$build/bertrain" init --preset bert-base-uncased --num_labels 5 --out "$work/model" >/dev/null
flags=(train --model "$work/model" --dummy --dummy_size 4096 --dummy_seq_len 128
  --per_device_train_batch_size 8 --max_steps "$steps" --save_strategy no --save_final_model=false
  --logging_steps 1000 --disable_tqdm --overwrite_output_dir)
result() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1/all_results.json" "$2"; }
rate() { result "$1" train_samples_per_second; }
