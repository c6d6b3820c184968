"""Sets a config.json's dropout probabilities to 0, in place (the MPI tests compare runs whose
dropout masks differ across world sizes).
  python3 tests/tools/no_dropout.py MODEL_DIR/config.json
"""
import json
import sys

c = json.load(open(sys.argv[1]))
c["hidden_dropout_prob"] = c["attention_probs_dropout_prob"] = 0.0
json.dump(c, open(sys.argv[1], "w"))
