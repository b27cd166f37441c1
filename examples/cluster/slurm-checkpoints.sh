#!/usr/bin/env bash
# UNet Lens on a cluster: one SLURM array task per checkpoint (docs/CONTRACT.md §2, §4).
#
#   N=$(ls runs/exp1/epoch_*.onnx | wc -l)
#   sbatch --array=0-$((N - 1)) examples/cluster/slurm-checkpoints.sh runs/exp1/unetlens.json 'runs/exp1/epoch_*.onnx' runs/exp1/lens
#   # when the array is done (or while it runs: the panel watches the folder):
#   unet-lens timeline runs/exp1/lens          # → runs/exp1/lens/series.json
#
# Task i analyses the i-th checkpoint in natural name order and writes
# <results-dir>/<model-sha256>/results.json (+ report.html) by a temporary name and a rename,
# so any number of tasks on any number of nodes may share one results folder (a shared file
# system) and a reader never sees a half-written file. The timeline orders the checkpoints
# itself (epoch/step number in the name, else modification time).
#
# Environment: UNETLENS (the command, default "unet-lens"; e.g. "node /path/dist/cli.js"),
# UNETLENS_ARGS (more analyze options, e.g. "--max-points 2048 --threads 4").
# Tested by test/integration/series.test.ts, which runs this file with SLURM_ARRAY_TASK_ID set.
#
#SBATCH --job-name=unet-lens
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=00:30:00
#SBATCH --output=unet-lens-%A_%a.log
set -euo pipefail

data=${1:?usage: slurm-checkpoints.sh <unetlens.json> <checkpoint glob> <results-dir>}
pattern=${2:?checkpoint glob (quote it)}
results=${3:?results folder}
task=${SLURM_ARRAY_TASK_ID:?SLURM_ARRAY_TASK_ID is not set (run under sbatch --array, or set it)}

# The checkpoints in natural order; the glob is expanded here, not by the submitting shell.
shopt -s nullglob
# shellcheck disable=SC2206
files=( $pattern )
if (( ${#files[@]} == 0 )); then echo "unet-lens: no checkpoint matches $pattern" >&2; exit 2; fi
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -V)
if (( task >= ${#files[@]} )); then echo "unet-lens: task $task has no checkpoint (${#files[@]} found)"; exit 0; fi

model=${files[$task]}
echo "unet-lens: task $task analyses $model"
# shellcheck disable=SC2086
exec ${UNETLENS:-unet-lens} analyze "$model" --data "$data" --results-dir "$results" ${UNETLENS_ARGS:-}
