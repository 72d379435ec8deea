# A handler: f(event) gets the request's JSON body and returns what the reply carries (any JSON value).
def f(event):
    return {"hello": event}
