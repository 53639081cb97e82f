// Blocking receives, sends and waits that, with SimGrid's link energy plugin on, block in
// Comm::wait_any rather than in the communication's own wait, so that the plugin works whatever the
// run does (failures, competing traffic, asynchronous and gossip algorithms, partial stars).
//
// Why: SimGrid 3.32 ends the communication an actor blocks in (Comm::wait, wait_for, Mailbox::get,
// put) by posting it (CommImpl::post) when the actor is killed — its host fails, or it is a daemon
// at the end of the run — and when the wait's own timeout expires. Posting fires
// CommImpl::on_completion, where the link energy plugin asks for the links the communication
// traverses, from its source host's route to its destination host; a communication no peer has
// matched yet lacks one of the two hosts: a segfault (an assertion failure on a timeout). An actor
// killed while it blocks in wait_any has its communications cancelled, not posted, and a
// wait_any_for that times out leaves its communication pending, so nothing asks for a route that
// does not exist. The same communications start and end at the same instants either way.
//
// Without the link plugin the plain waits stay: they also put a sleep action on the waiting host
// (SimGrid's way to notice its failure), and the host energy plugin adds up its joules at that
// action's ends too — the same joules, rounded differently, so runs without link energy keep their
// outputs to the last bit.
#pragma once

#include <cstdint>
#include <memory>
#include <simgrid/Exception.hpp>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <simgrid/simix.hpp>
#include <vector>

namespace dmlsim {

// Comm::wait_any_for({comm}, timeout) (timeout < 0: none). An actor killed in it holds its handle
// for good: the kill has cancelled the transfer, but SimGrid prints a backtrace ("freed before its
// completion") when the last handle to a transfer it has not ended yet is dropped, as it would be
// while the actor unwinds. One small object per actor killed mid-transfer, kept until the process
// (one simulation) exits.
inline bool wait_any_for(const simgrid::s4u::CommPtr& comm, double timeout) {
  // SimGrid 3.32's wait_any starts by reading the observer of the actor's previous simcall
  // (a dynamic_cast in ActivityImpl::test, from ActivityWaitanySimcall's constructor): an object
  // of a call that has returned, whose stack memory may hold anything by now (a segfault). An
  // empty simcall first leaves no observer to read.
  simgrid::kernel::actor::simcall_answered([] {});
  try {
    return simgrid::s4u::Comm::wait_any_for({comm}, timeout) >= 0;
  } catch (const simgrid::ForcefulKillException&) {
    intrusive_ptr_add_ref(comm.get());
    throw;
  }
}

// comm->wait(), and the same exceptions when the transfer fails.
inline void await_comm(const simgrid::s4u::CommPtr& comm) {
  if (sg_link_energy_is_inited())
    wait_any_for(comm, -1);
  else
    comm->wait();
}

// comm->wait_for(timeout) without its TimeoutException: false when the timeout expired first,
// the communication then cancelled.
inline bool await_comm_for(const simgrid::s4u::CommPtr& comm, double timeout) {
  if (sg_link_energy_is_inited()) {
    if (wait_any_for(comm, timeout)) return true;
  } else {
    try {
      comm->wait_for(timeout);
      return true;
    } catch (const simgrid::TimeoutException&) {
    }
  }
  comm->cancel();
  return false;
}

// Comm::wait_all(comms): one after the other, as it does.
inline void await_comms(const std::vector<simgrid::s4u::CommPtr>& comms) {
  for (const auto& comm : comms) await_comm(comm);
}

// mailbox->get<T>().
template <class T>
T* receive(simgrid::s4u::Mailbox* mailbox) {
  T* data = nullptr;
  await_comm(mailbox->get_async<T>(&data));
  return data;
}

// mailbox->get_unique<T>().
template <class T>
std::unique_ptr<T> receive_unique(simgrid::s4u::Mailbox* mailbox) {
  return std::unique_ptr<T>(receive<T>(mailbox));
}

// mailbox->put(payload, bytes).
inline void send_to(simgrid::s4u::Mailbox* mailbox, void* payload, std::uint64_t bytes) {
  await_comm(mailbox->put_async(payload, bytes));
}

}  // namespace dmlsim
