"""`dlverify serve`: the web app on the gradebook. Staff run time-boxed assessments; candidates
take them in a browser. The web process never runs candidate code: uploads go into a queue in
the database, and a grading worker (the same `grade()`, the same sandbox) takes them from it."""
