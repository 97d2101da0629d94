"""One module per source family; each registers its loaders with
:func:`oneguard.data.registry.register_source`.

Conventions shared by every loader:

* Labels are mapped only where the source states them; anything it does not state stays
  ``unknown`` (``adversarial``: ``None``). Each module's docstring records its mapping choices.
* ``annotation`` names the weakest provenance among a record's labels: ``human`` (a person
  labelled or wrote the item as such), ``model`` (an LLM judge or generator), ``rule`` (a
  file- or category-level rule, e.g. "every prompt in this file is harmful") or ``implied``
  (an unlabelled pool assumed benign or harmful from how it was collected; screen or weight it).
* ``split`` is the upstream split or subset a row came from (``train``, ``test``, a file or
  model name), not our train/eval role, which lives on the registered source.
* ``id`` is the upstream id when there is one, else ``<file>:<row>``; unique within a source.
"""
