"""The bulk engine (:mod:`.engine`) and one adapter per CMS (``bulk/<cms>.py``)."""
