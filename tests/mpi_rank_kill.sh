#!/usr/bin/env bash
# A rank killed with SIGKILL ends the whole data-parallel job with a non-zero exit, not a hang,
# and the job resumes from its last checkpoint to the end (issue 16). PASS or FAIL.
#   tests/mpi_rank_kill.sh BERTRAIN MPIEXEC WORK_DIR
set -uo pipefail
bertrain="$1" mpiexec="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
"$bertrain" init --preset tiny --out "$work/model" >/dev/null || { echo FAIL; exit 1; }
args=(-np 2 --oversubscribe "$bertrain" train --model "$work/model" --dummy --dummy_size 64
  --dummy_seq_len 32 --per_device_train_batch_size 4 --max_steps 2000 --logging_steps 1000
  --save_steps 200 --output_dir "$work/run" --disable_tqdm --threads 1)
"$mpiexec" "${args[@]}" >"$work/first.log" 2>&1 &
job=$!
for _ in $(seq 600); do  # up to 60 s for the first checkpoint
  [ -d "$work/run/checkpoint-200" ] && break
  sleep 0.1
done
# Rank 1: the bertrain process whose environment says so.
victim=""
for pid in $(pgrep -f "output_dir $work/run"); do
  if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
    victim=$pid
  fi
done
[ -n "$victim" ] || { echo "no rank 1 found"; echo FAIL; exit 1; }
kill -9 "$victim"
ended=no
for _ in $(seq 600); do  # the job must end within 60 s
  if ! kill -0 "$job" 2>/dev/null; then ended=yes; break; fi
  sleep 0.1
done
if [ "$ended" = no ]; then
  kill -9 "$job" 2>/dev/null
  echo "the job hung after rank 1 was killed"; echo FAIL; exit 1
fi
wait "$job"
rc=$?
echo "job exit code after the kill: $rc"
[ "$rc" -ne 0 ] || { echo FAIL; exit 1; }
"$mpiexec" "${args[@]}" --resume_from_checkpoint latest >"$work/resume.log" 2>&1 ||
  { tail -5 "$work/resume.log"; echo FAIL; exit 1; }
grep -m1 "resuming from" "$work/resume.log"
step=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['global_step'])" \
  "$work/run/trainer_state.json")
echo "resumed run ended at step $step"
[ "$step" = 2000 ] && [ -f "$work/run/model.safetensors" ] && echo PASS || echo FAIL
