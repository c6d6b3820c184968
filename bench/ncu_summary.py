"""Where a GPU step's time goes, from `ncu --metrics gpu__time_duration.sum --print-summary
per-kernel` output (bench/gpu_check.sh step 6): kernels grouped by name and launch shape, their
total time per step (ncu serialises kernels, so the sum is close to a step), launches per step,
the largest first.
  python3 bench/ncu_summary.py NCU_TXT [STEPS_PROFILED] [TOP]
"""
import re
import sys

text = open(sys.argv[1]).read()
steps = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
# The summary follows the last "==PROF==" progress line.
text = text[text.find("\n  ", text.rfind("==PROF==")):]
rows, name = [], None
for line in text.splitlines():
    if line.startswith("  ") and not line.startswith("   ") and line.strip():
        name = line.strip()
    m = re.search(r"gpu__time_duration\.sum\s+(\S+)\s+\S+\s+\S+\s+(\S+)", line)
    if m and name:
        unit, avg = m.groups()
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[unit]
        launches = int(re.search(r"Invocations (\d+)", name).group(1))
        rows.append((float(avg) * scale * launches / steps, launches / steps, name))
rows.sort(reverse=True)
print(f"kernel time per step {sum(r[0] for r in rows) / 1e3:.2f} ms, "
      f"{sum(r[1] for r in rows):.0f} launches per step")
print("| ms per step | launches | kernel (grid x block) |")
print("|---|---|---|")



def short(kernel):
    """The kernel's name without its namespaces and arguments, and its launch shape."""
    shape = re.search(r"(\([\d, ]+\)x\([\d, ]+\))", kernel)
    head = kernel.split("(")[0].replace("void ", "").split("::")[-1]
    return f"{head} {shape.group(1) if shape else ''}"


for us, n, kernel in rows[:top]:
    print(f"| {us / 1e3:.3f} | {n:.0f} | {short(kernel)} |")
