# Sourced by the mpi_*_test.sh scripts (arguments SOURCE_DIR AFTUNE_BINARY
# WORK_DIR): a fresh work directory, the dataset, the mpirun prefix for
# localhost, a provider key and the tiny base model.
set -euo pipefail
src=$1 aftune=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
data=$src/data/arith/train.jsonl
mpi=(mpirun --allow-run-as-root --oversubscribe)

"$aftune" keygen --name mpi.test/provider --out "$work/provider" >/dev/null
"$aftune" model init --preset tiny --seed 3 --out "$work/base" >/dev/null
