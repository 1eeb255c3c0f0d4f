"""The presentation layer: what a reader sees, as functions of tidy results and a language.

``findings``: the named predicates every sentence that states a finding is built from, and the words
each verdict reads as (Chinese and English), defined once.
"""
