"""flatcheck's own claim catalog, installed as `flatcheck_theorems` and registered under the entry-point
group `flatcheck.claims`: one package per paper, one module per claim (`_` modules are helpers)."""
